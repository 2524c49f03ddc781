package dev.cm3leon.engine.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Regions cover their range exactly once, however it is chunked, and report what went wrong. */
class ParallelTest {
    @ParameterizedTest(name = "n={0}, grain={1}")
    @CsvSource({"1, 1", "7, 1", "8, 3", "1000, 1", "1001, 64", "65537, 1000"})
    void everyIndexRunsExactlyOnce(int n, int grain) {
        for (int round = 0; round < 20; round++) {
            AtomicIntegerArray hits = new AtomicIntegerArray(n);
            Parallel.forRange(n, grain, (from, to) -> {
                for (int i = from; i < to; i++) hits.incrementAndGet(i);
            });
            for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("index %d", i).isEqualTo(1);
        }
    }

    @Test
    void noBodyIsHandedAnEmptyRange() {
        // Sizes whose chunk rounding leaves trailing chunks empty (27 in 8 chunks of 4) among the rest.
        for (int n = 1; n <= 300; n++) {
            int size = n;
            Parallel.forRange(n, 1, (from, to) -> {
                if (!(0 <= from && from < to && to <= size))
                    throw new AssertionError("range [" + from + ", " + to + ") of " + size);
            });
        }
    }

    @Test
    void nestedRegionsRunInline() {
        AtomicIntegerArray hits = new AtomicIntegerArray(64 * 64);
        Parallel.forRange(64, 1, (a, b) -> {
            for (int i = a; i < b; i++) {
                int row = i;
                Parallel.forRange(64, 1, (c, d) -> {
                    for (int j = c; j < d; j++) hits.incrementAndGet(row * 64 + j);
                });
            }
        });
        for (int i = 0; i < hits.length(); i++) assertThat(hits.get(i)).isEqualTo(1);
    }

    @Test
    void aFailureInAnyChunkReachesTheCaller() {
        assertThatThrownBy(() -> Parallel.forRange(1000, 1, (from, to) -> {
            if (from <= 500 && 500 < to) throw new IllegalStateException("chunk with 500");
        })).isInstanceOf(IllegalStateException.class).hasMessage("chunk with 500");
    }
}
