package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A step longer than the prefill chunk runs as several passes and returns the logits one pass would. */
class PrefillChunkTest {
    static SafetensorsCheckpoint checkpoint;
    static DecoderWeights weights;

    @BeforeAll
    static void open() throws IOException {
        checkpoint = SafetensorsCheckpoint.open(Fixtures.path("chameleon/model"));
        weights = DecoderWeights.from(checkpoint, ModelConfig.read(Fixtures.path("chameleon/model/config.json")));
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    static CpuEngine engine(int chunk) {
        return new CpuEngine(weights, EngineOptions.defaults().withPrefillChunk(chunk));
    }

    /** Random streams (1–3, 1–40 tokens, any logits) run whole and in random chunks, then one decode step each. */
    @RepeatedTest(12)
    void chunkedPrefillGivesTheLogitsOfOnePass() {
        Random rnd = new Random();
        long seed = rnd.nextLong();
        rnd.setSeed(seed);
        int vocab = weights.config().vocabSize();
        int streams = 1 + rnd.nextInt(3), chunk = 1 + rnd.nextInt(9);
        int[][] prompts = new int[streams][];
        StreamStep.Logits[] modes = new StreamStep.Logits[streams];
        for (int i = 0; i < streams; i++) {
            prompts[i] = rnd.ints(1 + rnd.nextInt(40), 0, vocab).toArray();
            modes[i] = StreamStep.Logits.values()[rnd.nextInt(3)];
        }
        int[] next = rnd.ints(streams, 0, vocab).toArray();
        float[][][] whole = run(engine(1000), prompts, modes, next);
        float[][][] chunked = run(engine(chunk), prompts, modes, next);
        for (int i = 0; i < streams; i++) {
            for (int step = 0; step < 2; step++) {
                String what = "seed " + seed + ", chunk " + chunk + ", stream " + i + " of " + streams + ", step " + step;
                if (whole[step][i] == null) {
                    assertThat(chunked[step][i]).as(what).isNull();
                    continue;
                }
                assertThat(chunked[step][i]).as(what).hasSameSizeAs(whole[step][i]);
                for (int j = 0; j < whole[step][i].length; j++) {
                    assertThat(Math.abs(chunked[step][i][j] - whole[step][i][j])).as(what + ", logit " + j).isLessThanOrEqualTo(1e-5f);
                }
            }
        }
    }

    /** [step: prefill, decode][stream] logits. */
    private static float[][][] run(CpuEngine engine, int[][] prompts, StreamStep.Logits[] modes, int[] next) {
        List<KvCache> caches = new ArrayList<>();
        try {
            List<StreamStep> prefill = new ArrayList<>(), decode = new ArrayList<>();
            for (int i = 0; i < prompts.length; i++) {
                caches.add(engine.newCache(64));
                prefill.add(new StreamStep(caches.get(i), prompts[i], modes[i]));
                decode.add(StreamStep.last(caches.get(i), next[i]));
            }
            float[][] first = engine.forward(prefill);
            for (int i = 0; i < prompts.length; i++) assertThat(caches.get(i).length()).isEqualTo(prompts[i].length);
            return new float[][][]{first, engine.forward(decode)};
        } finally {
            caches.forEach(KvCache::close);
        }
    }

    @Test
    void aStreamThatDoesNotFitFailsTheStepBeforeAnyChunkRuns() {
        CpuEngine engine = engine(2);
        try (KvCache roomy = engine.newCache(64); KvCache small = engine.newCache(4)) {
            assertThatThrownBy(() -> engine.forward(List.of(
                    StreamStep.last(roomy, 1, 2, 3, 4, 5, 6), StreamStep.last(small, 1, 2, 3, 4, 5))))
                    .isInstanceOf(Cm3LeonException.class).hasMessageContaining("stream 1: 0 cached + 5 new tokens exceed the cache capacity of 4");
            assertThat(roomy.length()).isZero();
        }
    }

    @Test
    void anInterruptedThreadStopsBetweenChunks() {
        CpuEngine engine = engine(2);
        try (KvCache cache = engine.newCache(64)) {
            Thread.currentThread().interrupt();
            assertThatThrownBy(() -> engine.forward(List.of(StreamStep.last(cache, 1, 2, 3, 4, 5))))
                    .isInstanceOf(CancellationException.class).hasMessageContaining("interrupted between prefill chunks");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void aNegativeChunkIsRefused() {
        assertThatThrownBy(() -> EngineOptions.defaults().withPrefillChunk(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prefillChunk must be ≥ 0");
        assertThat(EngineOptions.defaults().prefillChunkTokens()).isEqualTo(EngineOptions.DEFAULT_PREFILL_CHUNK);
    }
}
