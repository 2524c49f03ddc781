package dev.cm3leon.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.decode.ImageTokenSuppression;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.TokenDraw;
import dev.cm3leon.engine.cpu.CpuEngine;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CUDA engine on the fixtures, against HF's golden outputs and the CPU engine: f32 at the CPU engine's
 * tolerance (|Δ| ≤ 1e-4, ids exact); bf16 at relative error ≤ 1e-2 with the CPU engine's greedy ids. Covers
 * prefill, cached decode (replayed as a graph), a batch of streams, a step mixing prefill and decode, and device
 * sampling on guided image decoding. Subclasses choose the device.
 */
abstract class CudaEngineParityTest {
    static final double TOL = 1e-4, BF16_TOL = 1e-2;

    protected abstract Device device();

    /** Runs {@code body} on a CUDA engine over the fixture's checkpoint; the checkpoint stays open meanwhile. */
    <T> T withEngine(String fixture, boolean castToBf16, Function<CudaEngine, T> body) {
        Path folder = Fixtures.path(fixture + "/model");
        ModelConfig config = ModelConfig.read(folder.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(folder);
             CudaEngine engine = new CudaEngine(device(), DecoderWeights.from(ckpt, config), new EngineOptions("cuda", castToBf16), false)) {
            return body.apply(engine);
        }
    }

    <T> T withCpuEngine(String fixture, Function<Engine, T> body) {
        Path folder = Fixtures.path(fixture + "/model");
        ModelConfig config = ModelConfig.read(folder.resolve("config.json"));
        try (SafetensorsCheckpoint ckpt = SafetensorsCheckpoint.open(folder); CpuEngine engine = new CpuEngine(DecoderWeights.from(ckpt, config))) {
            return body.apply(engine);
        }
    }

    static void suppress(Engine e, float[] logits, int rows) {
        e.config().vocabulary().filter(v -> v.imageTokenCount() > 0).map(ImageTokenSuppression::new)
                .ifPresent(s -> s.apply(logits, rows, e.config().vocabSize()));
    }

    static float[] logits(Engine e, int[] ids) {
        try (KvCache cache = e.newCache(ids.length)) {
            float[] out = e.forward(List.of(new StreamStep(cache, ids, StreamStep.Logits.ALL)))[0];
            suppress(e, out, ids.length);
            return out;
        }
    }

    /** Greedy decoding with the cache, image tokens suppressed, as Cm3Leon.generateGreedy does; step logits kept. */
    static int[] greedy(Engine e, int[] prompt, int steps, List<float[]> stepLogits) {
        int[] out = new int[steps];
        int produced = 0;
        try (KvCache cache = e.newCache(prompt.length + steps)) {
            int[] next = prompt;
            while (produced < steps) {
                float[] l = e.forward(List.of(StreamStep.last(cache, next)))[0];
                suppress(e, l, 1);
                if (stepLogits != null) stepLogits.add(l.clone());
                int id = argmax(l);
                out[produced++] = id;
                if (id == e.config().eosId()) break;
                next = new int[]{id};
            }
        }
        return Arrays.copyOf(out, produced);
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /**
     * Largest |a − b| over the largest |b|, among entries the reference did not suppress; suppressed entries
     * (±Float.MAX_VALUE) must match exactly, and would otherwise swamp the scale.
     */
    static double relativeError(float[] a, float[] b) {
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            if (Math.abs(b[i]) == Float.MAX_VALUE) {
                if (a[i] != b[i]) return Double.POSITIVE_INFINITY;
                continue;
            }
            if (Float.isNaN(a[i]) || Float.isNaN(b[i])) return Double.POSITIVE_INFINITY;
            diff = Math.max(diff, Math.abs((double) a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / scale;
    }

    @ParameterizedTest
    @ValueSource(strings = {"text", "mixed_ids", "long_text"})
    void forwardLogitsMatchTheReference(String name) {
        JsonNode c = Fixtures.json("chameleon/golden.json").get("forward").get(name);
        int[] ids = Fixtures.ints(c.get("input_ids"));
        float[] actual = withEngine("chameleon", false, e -> logits(e, ids));
        assertThat(Fixtures.maxAbsDiff(actual, Fixtures.f32("chameleon", c.get("logits")))).isLessThanOrEqualTo(TOL);
    }

    @ParameterizedTest
    @ValueSource(strings = {"text", "eos_stop"})
    void greedyGenerationReproducesTheReference(String name) {
        JsonNode c = Fixtures.json("chameleon/golden.json").get("generate").get("cases").get(name);
        List<float[]> steps = new ArrayList<>();
        int[] ids = withEngine("chameleon", false, e -> greedy(e, Fixtures.ints(c.get("prompt_ids")), 16, steps));
        assertThat(ids).containsExactly(Fixtures.ints(c.get("new_token_ids")));
        float[] expected = Fixtures.f32("chameleon", c.get("step_logits"));
        int v = expected.length / Math.max(1, c.get("new_token_ids").size());
        for (int i = 0; i < steps.size(); i++) {
            assertThat(Fixtures.maxAbsDiff(steps.get(i), Arrays.copyOfRange(expected, i * v, (i + 1) * v))).as("step %d", i).isLessThanOrEqualTo(TOL);
        }
    }

    @Test
    void batchOfStreamsDecodesLikeEachStreamAlone() {
        JsonNode c = Fixtures.json("chameleon/golden.json").get("generate_batch_left_pad");
        JsonNode inputs = c.get("input_ids"), masks = c.get("attention_mask");
        int streams = inputs.size(), steps = c.get("new_token_ids").get(0).size();
        int[][] produced = withEngine("chameleon", false, e -> {
            List<KvCache> caches = new ArrayList<>();
            int[][] next = new int[streams][], out = new int[streams][steps];
            for (int s = 0; s < streams; s++) {
                int[] row = Fixtures.ints(inputs.get(s)), mask = Fixtures.ints(masks.get(s));
                next[s] = java.util.stream.IntStream.range(0, row.length).filter(i -> mask[i] == 1).map(i -> row[i]).toArray();
                caches.add(e.newCache(next[s].length + steps));
            }
            for (int step = 0; step < steps; step++) {
                List<StreamStep> batch = new ArrayList<>();
                for (int s = 0; s < streams; s++) batch.add(StreamStep.last(caches.get(s), next[s]));
                float[][] logits = e.forward(batch);
                for (int s = 0; s < streams; s++) {
                    suppress(e, logits[s], 1);
                    out[s][step] = argmax(logits[s]);
                    next[s] = new int[]{out[s][step]};
                }
            }
            caches.forEach(KvCache::close);
            return out;
        });
        for (int s = 0; s < streams; s++) assertThat(produced[s]).containsExactly(Fixtures.ints(c.get("new_token_ids").get(s)));
    }

    /** One step where a stream prefills while another decodes gives each the logits it gets alone. */
    @Test
    void aStepMixingPrefillAndDecodeMatchesEachStreamAlone() {
        int[] a = {0, 97, 96, 115, 54}, b = {0, 101, 100};
        float[][] together = withEngine("chameleon", false, e -> {
            try (KvCache ca = e.newCache(16); KvCache cb = e.newCache(16)) {
                e.forward(List.of(StreamStep.last(cb, b)));
                return e.forward(List.of(StreamStep.last(ca, a), StreamStep.last(cb, 52)));
            }
        });
        float[][] alone = withCpuEngine("chameleon", e -> {
            try (KvCache ca = e.newCache(16); KvCache cb = e.newCache(16)) {
                float[] la = e.forward(List.of(StreamStep.last(ca, a)))[0];
                e.forward(List.of(StreamStep.last(cb, b)));
                return new float[][]{la, e.forward(List.of(StreamStep.last(cb, 52)))[0]};
            }
        });
        assertThat(Fixtures.maxAbsDiff(together[0], alone[0])).isLessThanOrEqualTo(TOL);
        assertThat(Fixtures.maxAbsDiff(together[1], alone[1])).isLessThanOrEqualTo(TOL);
    }

    /**
     * A speculative-decoding verification pass: two streams of different prompt lengths each get a window of tokens
     * after their cache, every position's logits returned in one pass, then are truncated back (rejected drafts) and
     * fed again; each position's logits equal the CPU engine's for the same sequence.
     */
    @Test
    void aWindowOfDraftsGivesEveryPositionsLogitsAndTruncatesBack() {
        int[] a = {0, 97, 96, 115, 54}, b = {0, 101, 100}, window = {52, 60, 61, 70}, redraft = {53, 61};
        java.util.function.Function<Engine, float[][]> run = e -> {
            try (KvCache ca = e.newCache(32); KvCache cb = e.newCache(32)) {
                e.forward(List.of(new StreamStep(ca, a, StreamStep.Logits.NONE), new StreamStep(cb, b, StreamStep.Logits.NONE)));
                float[][] first = e.forward(List.of(new StreamStep(ca, window, StreamStep.Logits.ALL),
                        new StreamStep(cb, window, StreamStep.Logits.ALL)));
                ca.truncate(a.length + 2);              // pending token and one accepted draft kept
                cb.truncate(b.length + 2);
                float[][] second = e.forward(List.of(new StreamStep(ca, redraft, StreamStep.Logits.ALL),
                        new StreamStep(cb, redraft, StreamStep.Logits.ALL)));
                return new float[][]{first[0], first[1], second[0], second[1]};
            }
        };
        float[][] cuda = withEngine("chameleon", false, run::apply);
        float[][] cpu = withCpuEngine("chameleon", run);
        int v = 128;
        assertThat(cuda[0]).hasSize(window.length * v);
        assertThat(cuda[2]).hasSize(redraft.length * v);
        for (int i = 0; i < 4; i++) assertThat(Fixtures.maxAbsDiff(cuda[i], cpu[i])).isLessThanOrEqualTo(TOL);
        // The redrafted pass equals a fresh run over the kept prefix and the new tokens.
        float[] fresh = withCpuEngine("chameleon", e -> logits(e, new int[]{0, 97, 96, 115, 54, 52, 60, 53, 61}));
        float[] suppressed = cpu[2].clone();
        float[] tail = java.util.Arrays.copyOfRange(fresh, fresh.length - 2 * v, fresh.length);
        withCpuEngine("chameleon", e -> {
            suppress(e, suppressed, 2);
            return null;
        });
        assertThat(Fixtures.maxAbsDiff(suppressed, tail)).isLessThanOrEqualTo(TOL);
    }

    /** Guided greedy image decoding, drawn on the device: u + s·(c − u) over image tokens, the argmax fed to both. */
    @ParameterizedTest
    @ValueSource(strings = {"scale_1", "scale_3"})
    void deviceDrawsReproduceGuidedImageDecoding(String name) {
        JsonNode c = Fixtures.json("chameleon/cfg_golden.json").get("cases").get(name);
        int n = c.get("n_image_tokens").asInt();
        float scale = (float) c.get("cfg_scale").asDouble();
        int[] ids = withEngine("chameleon", false, e -> {
            int[] cond = Fixtures.ints(c.get("cond_prompt")), uncond = Fixtures.ints(c.get("uncond_prompt"));
            TokenDraw draw = new TokenDraw(new TokenDraw.Mix.Guidance2(0, 1, scale), TokenDraw.Modality.IMAGE, TokenDraw.Sampling.greedy());
            int[] out = new int[n];
            try (KvCache cc = e.newCache(cond.length + n); KvCache cu = e.newCache(uncond.length + n)) {
                int[] next = e.forwardAndDraw(List.of(StreamStep.last(cc, cond), StreamStep.last(cu, uncond)), List.of(draw));
                for (int i = 0; i < n; i++) {
                    out[i] = next[0];
                    if (i + 1 < n) next = e.forwardAndDraw(List.of(StreamStep.last(cc, out[i]), StreamStep.last(cu, out[i])), List.of(draw));
                }
            }
            return out;
        });
        assertThat(ids).containsExactly(Arrays.copyOf(Fixtures.ints(c.get("output_ids")), n));
    }

    /** Decode steps replayed from a captured graph give bit for bit the logits of steps launched one by one. */
    @Test
    void graphReplayGivesTheLogitsOfLaunchByLaunchSteps() {
        int[] prompt = {0, 97, 96, 115, 54, 101};
        List<float[]> replayed = new ArrayList<>(), launched = new ArrayList<>();
        withEngine("chameleon", false, e -> greedy(e, prompt, 8, replayed));
        String before = System.getProperty("cm3leon.cuda.graphs");
        System.setProperty("cm3leon.cuda.graphs", "false");
        try {
            withEngine("chameleon", false, e -> greedy(e, prompt, 8, launched));
        } finally {
            if (before == null) System.clearProperty("cm3leon.cuda.graphs");
            else System.setProperty("cm3leon.cuda.graphs", before);
        }
        assertThat(replayed).hasSameSizeAs(launched);
        for (int i = 0; i < replayed.size(); i++) assertThat(replayed.get(i)).as("step %d", i).containsExactly(launched.get(i));
    }

    @Test
    void aSeedReproducesItsSampledTokens() {
        Function<CudaEngine, int[]> run = e -> {
            int[] out = new int[12];
            try (KvCache cache = e.newCache(32)) {
                int[] next = {0, 97, 96, 115};
                for (int i = 0; i < out.length; i++) {
                    TokenDraw d = new TokenDraw(new TokenDraw.Mix.Single(0), TokenDraw.Modality.TEXT, new TokenDraw.Sampling(1f, 40, 0.9f, 0.01f, 1234, i));
                    out[i] = e.forwardAndDraw(List.of(StreamStep.last(cache, next)), List.of(d))[0];
                    next = new int[]{out[i]};
                }
            }
            return out;
        };
        int[] first = withEngine("chameleon", false, run), second = withEngine("chameleon", false, run);
        assertThat(second).containsExactly(first);
    }

    @ParameterizedTest
    @ValueSource(strings = {"text", "long_text"})
    void bf16WeightsStayBf16AndMatchTheReference(String name) {
        JsonNode c = Fixtures.json("chameleon-bf16-sharded/golden.json").get("cases").get(name);
        int[] ids = Fixtures.ints(c.get("input_ids"));
        float[] actual = withEngine("chameleon-bf16-sharded", false, e -> {
            assertThat(e.elementType()).isEqualTo(ElementType.BF16);
            return logits(e, ids);
        });
        assertThat(relativeError(actual, Fixtures.f32("chameleon-bf16-sharded", c.get("logits")))).isLessThanOrEqualTo(BF16_TOL);
    }

    @Test
    void bf16GreedyIdsEqualTheCpuEngines() {
        int[] prompt = {0, 97, 96, 115, 54, 101, 100, 52};
        int[] cuda = withEngine("chameleon-bf16-sharded", false, e -> greedy(e, prompt, 16, null));
        int[] cpu = withCpuEngine("chameleon-bf16-sharded", e -> greedy(e, prompt, 16, null));
        assertThat(cuda).containsExactly(cpu);
    }

    @Test
    void f32WeightsCastToBf16StayWithinBf16Tolerance() {
        JsonNode c = Fixtures.json("chameleon/golden.json").get("forward").get("text");
        int[] ids = Fixtures.ints(c.get("input_ids"));
        float[] actual = withEngine("chameleon", true, e -> {
            assertThat(e.elementType()).isEqualTo(ElementType.BF16);
            return logits(e, ids);
        });
        assertThat(relativeError(actual, Fixtures.f32("chameleon", c.get("logits")))).isLessThanOrEqualTo(BF16_TOL);
    }
}
