package dev.cm3leon.retrieval;

import dev.cm3leon.engine.cpu.CpuOps;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** What every {@link MemoryBank} must do; each implementation's test extends this. */
abstract class MemoryBankContract {
    static final int D = 32;
    MemoryBank bank;

    abstract MemoryBank newBank(int dimension);

    @BeforeEach
    void open() {
        bank = newBank(D);
    }

    @AfterEach
    void closeBank() {
        bank.close();
    }

    @Test
    void anEmptyBankReturnsNoResults() {
        assertThat(bank.size()).isZero();
        assertThat(bank.search(Vectors.unit(new java.util.SplittableRandom(1), D), 5)).isEmpty();
    }

    @Test
    void searchFindsTheTopKByInnerProductBestFirst() {
        List<float[]> vs = Vectors.units(7, 300, D);
        for (int i = 0; i < vs.size(); i += 100) bank.add(Vectors.entries("doc", vs, i, i + 100));
        assertThat(bank.size()).isEqualTo(300);
        float[] q = Vectors.unit(new java.util.SplittableRandom(99), D);
        List<ScoredDocument> hits = bank.search(q, 5);
        int[] expected = TopK.largest(scores(vs, q), vs.size(), 5);
        assertThat(hits).extracting(ScoredDocument::id).containsExactly(
                java.util.Arrays.stream(expected).mapToObj(i -> "doc" + i).toArray(String[]::new));
        for (int i = 0; i < hits.size(); i++) {
            assertThat(hits.get(i).score()).isCloseTo(CpuOps.dot(q, 0, vs.get(expected[i]), 0, D), within(1e-5f));
            assertThat(hits.get(i).embedding()).containsExactly(vs.get(expected[i]));
        }
        assertThat(bank.search(vs.get(42), 1).getFirst().id()).isEqualTo("doc42");
        assertThat(bank.search(q, 1000)).hasSize(300);
    }

    @Test
    void addingAnExistingIdReplacesTheDocument() {
        List<float[]> vs = Vectors.units(3, 3, D);
        bank.add(List.of(Vectors.entry("a", vs.get(0)), Vectors.entry("b", vs.get(1))));
        bank.add(new MemoryEntry(Document.ofText("a", "new caption"), vs.get(2)));
        assertThat(bank.size()).isEqualTo(2);
        ScoredDocument top = bank.search(vs.get(2), 1).getFirst();
        assertThat(top.id()).isEqualTo("a");
        assertThat(top.document().text()).contains("new caption");
    }

    @Test
    void updateReplacesOnlyAnExistingDocument() {
        List<float[]> vs = Vectors.units(4, 3, D);
        bank.add(Vectors.entry("a", vs.get(0)));
        assertThat(bank.update(Vectors.entry("missing", vs.get(1)))).isFalse();
        assertThat(bank.size()).isEqualTo(1);
        assertThat(bank.update(new MemoryEntry(Document.ofText("a", "updated"), vs.get(2)))).isTrue();
        assertThat(bank.size()).isEqualTo(1);
        ScoredDocument top = bank.search(vs.get(2), 1).getFirst();
        assertThat(top.document().text()).contains("updated");
        assertThat(top.score()).isCloseTo(1f, within(1e-5f));
    }

    @Test
    void deleteRemovesTheDocumentAndKeepsTheOthers() {
        List<float[]> vs = Vectors.units(5, 4, D);
        for (int i = 0; i < 4; i++) bank.add(Vectors.entry("d" + i, vs.get(i)));
        assertThat(bank.delete("d1")).isTrue();
        assertThat(bank.delete("d1")).isFalse();
        assertThat(bank.delete("never")).isFalse();
        assertThat(bank.size()).isEqualTo(3);
        assertThat(bank.search(vs.get(1), 10)).extracting(ScoredDocument::id).doesNotContain("d1").hasSize(3);
        for (int i : new int[]{0, 2, 3}) assertThat(bank.search(vs.get(i), 1).getFirst().id()).isEqualTo("d" + i);
    }

    @Test
    void documentsKeepTheirTextAndImage() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};
        List<float[]> vs = Vectors.units(6, 3, D);
        bank.add(List.of(
                new MemoryEntry(Document.of("both", "a red circle", DocumentImage.of(png)), vs.get(0)),
                new MemoryEntry(Document.of("ref", null, DocumentImage.reference(Path.of("/data/img/1.jpg"))), vs.get(1)),
                new MemoryEntry(Document.ofText("text", "only text"), vs.get(2))));
        assertThat(bank.search(vs.get(0), 1).getFirst().document()).isEqualTo(Document.of("both", "a red circle", DocumentImage.of(png)));
        assertThat(bank.search(vs.get(1), 1).getFirst().document().image()).contains(DocumentImage.reference(Path.of("/data/img/1.jpg")));
        assertThat(bank.search(vs.get(2), 1).getFirst().document().image()).isEmpty();
    }

    @Test
    void vectorsOfAnotherDimensionAreRejected() {
        assertThatThrownBy(() -> bank.add(Vectors.entry("x", new float[D + 1]))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(D + 1 + " dimensions").hasMessageContaining("holds " + D);
        assertThatThrownBy(() -> bank.search(new float[D - 1], 3)).isInstanceOf(IllegalArgumentException.class);
        assertThat(bank.size()).isZero();
    }

    static float[] scores(List<float[]> vs, float[] q) {
        float[] s = new float[vs.size()];
        for (int i = 0; i < s.length; i++) s[i] = CpuOps.dot(q, 0, vs.get(i), 0, q.length);
        return s;
    }
}
