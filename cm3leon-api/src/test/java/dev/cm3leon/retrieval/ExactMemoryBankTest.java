package dev.cm3leon.retrieval;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ExactMemoryBankTest extends MemoryBankContract {
    @Override
    MemoryBank newBank(int dimension) {
        return new ExactMemoryBank(dimension);
    }

    @Test
    void growsPastItsInitialCapacityAndStaysExact() {
        List<float[]> vs = Vectors.units(11, 5000, D);
        for (int i = 0; i < vs.size(); i++) bank.add(Vectors.entry("v" + i, vs.get(i)));
        for (int i = 0; i < 5000; i += 2) bank.delete("v" + i);
        assertThat(bank.size()).isEqualTo(2500);
        for (int i = 1; i < 5000; i += 498) assertThat(bank.search(vs.get(i), 1).getFirst().id()).isEqualTo("v" + i);
    }

    @Test
    void topKOrdersTiesByInsertion() {
        assertThat(TopK.largest(new float[]{1, 3, 3, 2, 5}, 5, 3)).containsExactly(4, 1, 2);
        assertThat(TopK.largest(new float[]{1, 2}, 2, 5)).containsExactly(1, 0);
        assertThat(TopK.largest(new float[0], 0, 5)).isEmpty();
    }
}
