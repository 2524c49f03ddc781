package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A stream's logits are the same bits whatever else shares its pass: other decode streams (enough of them to make the
 * pass as tall as a prompt) and other prompts' chunks. Requests batched together rely on it to decode as they would
 * alone.
 */
class StreamIndependenceTest {
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

    @ParameterizedTest
    @ValueSource(strings = {"f32", "q8_0", "q4_0"})
    void aRequestsLogitsDoNotDependOnTheRequestsBesideIt(String weightType) {
        EngineOptions options = weightType.equals("f32") ? EngineOptions.defaults() : EngineOptions.defaults().quantize(weightType);
        String quantization = weightType;
        try (CpuEngine engine = new CpuEngine(weights, options)) {
            Random rnd = new Random(26);
            int vocab = weights.config().vocabSize();
            int[] prompt = rnd.ints(12, 0, vocab).toArray();
            int[] next = rnd.ints(4, 0, vocab).toArray();
            List<float[]> alone = run(engine, prompt, next, 0, rnd);
            for (int companions : new int[]{1, 3, 9}) {
                List<float[]> beside = run(engine, prompt, next, companions, rnd);
                for (int step = 0; step < alone.size(); step++) {
                    assertThat(beside.get(step)).as("%s, %d companions, step %d", quantization, companions, step)
                            .containsExactly(alone.get(step));
                }
            }
        }
    }

    /**
     * Per product: an input's sums are the same alone, in its request's group, or beside other groups (streamed, Java
     * and native kernels), and a prompt token's the same whatever tokens share the blocked product.
     */
    @ParameterizedTest
    @ValueSource(strings = {"F32", "Q8_0", "Q4_0"})
    void eachKernelSumsAnInputTheSameWhateverIsBesideIt(String type) {
        Random rnd = new Random(28);
        int rows = 96, cols = 256;
        try (Arena arena = Arena.ofShared()) {
            MatrixWeights f32 = MatrixWeights.of(RandomWeights.tensor("w", DType.F32, rows, cols, rnd, arena));
            MatrixWeights w = type.equals("F32") ? f32 : f32.quantize(DType.valueOf(type), arena);
            for (MatrixWeights m : new MatrixWeights[]{w, w.javaKernels()}) {
                String what = type + (m.runsNative() ? " native" : " java");
                float[] x = RandomWeights.floats(30 * cols, rnd);
                float[] alone = new float[30 * rows], beside = new float[30 * rows];
                m.streamedProduct(x, 2, alone);
                m.streamedProduct(x, 9, beside, new int[]{2, 3, 4, 9});
                assertThat(Arrays.copyOf(beside, 2 * rows)).as(what + " streamed").containsExactly(Arrays.copyOf(alone, 2 * rows));
                m.blockedProduct(x, 12, alone);
                m.blockedProduct(x, 30, beside);
                assertThat(Arrays.copyOf(beside, 12 * rows)).as(what + " blocked").containsExactly(Arrays.copyOf(alone, 12 * rows));
            }
        }
    }

    /**
     * The prefill of {@code prompt}, then a decode step per token of {@code next}: alone, or with {@code companions}
     * decode streams and a fresh 10-token prompt chunk in every pass.
     */
    private static List<float[]> run(CpuEngine engine, int[] prompt, int[] next, int companions, Random rnd) {
        int vocab = weights.config().vocabSize();
        List<KvCache> caches = new ArrayList<>();
        try {
            KvCache mine = engine.newCache(64);
            caches.add(mine);
            List<KvCache> others = new ArrayList<>();
            for (int i = 0; i < companions; i++) {
                KvCache c = engine.newCache(64);
                caches.add(c);
                others.add(c);
                engine.forward(List.of(StreamStep.last(c, rnd.ints(3 + i, 0, vocab).toArray())));
            }
            List<float[]> out = new ArrayList<>();
            for (int step = 0; step <= next.length; step++) {
                List<StreamStep> pass = new ArrayList<>();
                pass.add(StreamStep.last(mine, step == 0 ? prompt : new int[]{next[step - 1]}));
                for (KvCache c : others) pass.add(StreamStep.last(c, rnd.nextInt(vocab)));
                if (companions > 0) {
                    KvCache chunk = engine.newCache(16);
                    caches.add(chunk);
                    pass.add(rnd.nextBoolean() ? StreamStep.last(chunk, rnd.ints(10, 0, vocab).toArray())
                            : new StreamStep(chunk, rnd.ints(10, 0, vocab).toArray(), StreamStep.Logits.ALL));
                }
                // Every step a request of its own, the stream under test first or last.
                if (rnd.nextBoolean()) java.util.Collections.swap(pass, 0, pass.size() - 1);
                int at = pass.indexOf(pass.stream().filter(s -> s.cache() == mine).findFirst().orElseThrow());
                int[] groups = java.util.stream.IntStream.range(0, pass.size()).toArray();
                out.add(engine.forward(pass, groups)[at]);
            }
            return out;
        } finally {
            caches.forEach(KvCache::close);
        }
    }
}
