package dev.cm3leon.engine.cpu;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.KvCacheBudget;
import dev.cm3leon.engine.KvCacheMemoryException;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** KV caches reserve their bytes before allocating: a cache that does not fit fails alone, and the engine serves on. */
class KvCacheBudgetTest {
    /** The fixture: 2 layers × 2 KV heads × 16 dims, so a position costs 2 · 2 · 32 · 4 = 512 bytes. */
    static final long BYTES_PER_POSITION = 512;
    static SafetensorsCheckpoint checkpoint;
    static ModelConfig hugeContext;

    @BeforeAll
    static void open(@TempDir Path dir) throws IOException {
        checkpoint = SafetensorsCheckpoint.open(Fixtures.path("chameleon/model"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(Fixtures.path("chameleon/model/config.json").toFile());
        config.put("max_position_embeddings", Integer.MAX_VALUE);
        json.writeValue(dir.resolve("config.json").toFile(), config);
        hugeContext = ModelConfig.read(dir.resolve("config.json"));
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    static CpuEngine engine(long budgetBytes) {
        return new CpuEngine(DecoderWeights.from(checkpoint, hugeContext), new KvCacheBudget(budgetBytes));
    }

    @Test
    void aCacheBeyondTheBudgetFailsAndTheOthersKeepWorking() {
        CpuEngine engine = engine(100 * BYTES_PER_POSITION);
        try (KvCache small = engine.newCache(60)) {
            assertThat(engine.kvCacheBudget().reservedBytes()).isEqualTo(60 * BYTES_PER_POSITION);
            assertThatThrownBy(() -> engine.newCache(50)).isInstanceOf(KvCacheMemoryException.class)
                    .hasMessageContaining("a KV cache of 50 positions needs 25.0 KiB but 20.0 KiB of the 50.0 KiB KV cache budget are free");
            assertThat(engine.forward(List.of(StreamStep.last(small, 0, 40, 41)))[0]).hasSize(128);
            try (KvCache another = engine.newCache(40)) {
                assertThat(engine.kvCacheBudget().reservedBytes()).isEqualTo(100 * BYTES_PER_POSITION);
            }
        }
        assertThat(engine.kvCacheBudget().reservedBytes()).isZero();
    }

    @Test
    void aRequestsCachesAreReservedAllOrNothing() {
        CpuEngine engine = engine(100 * BYTES_PER_POSITION);
        assertThatThrownBy(() -> engine.newCaches(60, 60)).isInstanceOf(KvCacheMemoryException.class)
                .hasMessageContaining("2 KV caches of 120 positions in all");
        assertThat(engine.kvCacheBudget().reservedBytes()).as("nothing held after the refusal").isZero();
        List<KvCache> fits = engine.newCaches(40, 40, 20);
        assertThat(engine.kvCacheBudget().reservedBytes()).isEqualTo(100 * BYTES_PER_POSITION);
        fits.getFirst().close();
        assertThat(engine.kvCacheBudget().reservedBytes()).isEqualTo(60 * BYTES_PER_POSITION);
        fits.forEach(KvCache::close);
        assertThat(engine.kvCacheBudget().reservedBytes()).isZero();
    }

    @Test
    void closingTwiceReturnsTheBytesOnce() {
        CpuEngine engine = engine(1 << 20);
        KvCache a = engine.newCache(10);
        KvCache b = engine.newCache(10);
        a.close();
        a.close();
        assertThat(engine.kvCacheBudget().reservedBytes()).isEqualTo(10 * BYTES_PER_POSITION);
        b.close();
        assertThat(engine.kvCacheBudget().reservedBytes()).isZero();
    }

    @Test
    void aCacheItsOwnerForgotIsReturnedWhenCollected() throws InterruptedException {
        CpuEngine engine = engine(1 << 20);
        engine.newCache(100);
        for (int i = 0; i < 100 && engine.kvCacheBudget().reservedBytes() != 0; i++) {
            System.gc();
            Thread.sleep(20);
        }
        assertThat(engine.kvCacheBudget().reservedBytes()).isZero();
    }

    @Test
    void aCacheLargerThanMemoryFailsCleanlyAndTheEngineKeepsServing() {
        // 2^30 positions are 256 GiB of keys alone: more than the JVM lets native allocations reserve (by default as
        // much as the maximum heap), so the first allocation is refused before anything is touched.
        int positions = 1 << 30;
        assumeTrue(Runtime.getRuntime().maxMemory() < (long) positions * 32 * Float.BYTES * 2, "the heap is under 256 GiB");
        CpuEngine engine = engine(Long.MAX_VALUE);
        assertThatThrownBy(() -> engine.newCache(positions)).isInstanceOf(KvCacheMemoryException.class)
                .hasMessageContaining("not enough memory for a KV cache of " + positions + " positions");
        assertThat(engine.kvCacheBudget().reservedBytes()).isZero();
        try (KvCache cache = engine.newCache(8)) {
            assertThat(engine.forward(List.of(StreamStep.last(cache, 0, 40)))[0]).hasSize(128);
        }
    }

    @Test
    void aHugeDeclaredContextCostsNothingUntilUsed() {
        CpuEngine engine = engine(1 << 30);
        try (KvCache cache = engine.newCache(5000)) {
            // Positions past the RoPE table's first block extend it on demand.
            int[] prompt = new int[4500];
            prompt[0] = 0;
            for (int i = 1; i < prompt.length; i++) prompt[i] = 40 + i % 60;
            assertThat(engine.forward(List.of(StreamStep.last(cache, prompt)))[0]).hasSize(128);
        }
    }

    @Test
    void sizesReadAsBytesOrWithAUnit() {
        assertThat(KvCacheBudget.parseSize("1234")).isEqualTo(1234);
        assertThat(KvCacheBudget.parseSize("512k")).isEqualTo(512L << 10);
        assertThat(KvCacheBudget.parseSize("6G")).isEqualTo(6L << 30);
        assertThatThrownBy(() -> KvCacheBudget.parseSize("lots")).isInstanceOf(IllegalArgumentException.class);
    }
}
