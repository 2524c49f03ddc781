package dev.cm3leon.engine.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The CPU engine against HF transformers' Chameleon on the chameleon fixture (float32, |Δ| ≤ 1e-4, ids exact). */
class ChameleonParityTest {
    static final double TOL = 1e-4;
    static final String BASE = "chameleon";
    static JsonNode golden;
    static Cm3Leon model;

    @BeforeAll
    static void load() {
        golden = Fixtures.json(BASE + "/golden.json");
        model = Cm3Leon.load(Fixtures.path(BASE + "/model"), EngineOptions.defaults().withBackend("cpu"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"text", "mixed_ids", "long_text"})
    void forwardLogitsMatchTheReference(String name) {
        JsonNode c = golden.get("forward").get(name);
        int[] ids = Fixtures.ints(c.get("input_ids"));
        float[] expected = Fixtures.f32(BASE, c.get("logits"));
        float[] actual = model.logits(ids);
        assertThat(Fixtures.maxAbsDiff(actual, expected)).isLessThanOrEqualTo(TOL);
        int v = model.config().vocabSize();
        int[] argmax = Fixtures.ints(c.get("argmax_per_position"));
        for (int t = 0; t < ids.length; t++) {
            assertThat(Cm3Leon.argmax(Arrays.copyOfRange(actual, t * v, (t + 1) * v))).as("argmax at %d", t).isEqualTo(argmax[t]);
        }
        // Suppressed entries are exactly -Float.MAX_VALUE, as the reference writes them.
        int suppressed = 0;
        for (float f : actual) if (f == -Float.MAX_VALUE) suppressed++;
        assertThat(suppressed).isEqualTo(ids.length * golden.get("vocab_mapping").get("image_tokens_sorted_bpe_ids").size());
    }

    @Test
    void intermediateActivationsMatchTheReference() {
        JsonNode c = golden.get("forward").get("text");
        int[] ids = Fixtures.ints(c.get("input_ids"));
        int d = model.config().hiddenSize();
        List<float[]> layers = new ArrayList<>();
        float[][] embeddings = new float[1][], finalNorm = new float[1][];
        CpuEngine engine = (CpuEngine) model.engine();
        float[] raw;
        try (KvCache cache = engine.newCache(ids.length)) {
            raw = engine.forward(List.of(new StreamStep(cache, ids, StreamStep.Logits.ALL)), new CpuEngine.ActivationProbe() {
                public void embeddings(float[] x, int rows) { embeddings[0] = Arrays.copyOf(x, rows * d); }
                public void layerOutput(int layer, float[] x, int rows) { layers.add(Arrays.copyOf(x, rows * d)); }
                public void finalNorm(float[] x, int rows) { finalNorm[0] = Arrays.copyOf(x, rows * d); }
            })[0];
        }
        assertThat(Fixtures.maxAbsDiff(embeddings[0], Fixtures.f32(BASE, c.get("embeddings")))).isLessThanOrEqualTo(TOL);
        float[] expectedLayers = Fixtures.f32(BASE, c.get("layer_outputs"));
        assertThat(layers).hasSize(model.config().numLayers());
        for (int l = 0; l < layers.size(); l++) {
            float[] exp = Arrays.copyOfRange(expectedLayers, l * ids.length * d, (l + 1) * ids.length * d);
            assertThat(Fixtures.maxAbsDiff(layers.get(l), exp)).as("layer %d", l).isLessThanOrEqualTo(TOL);
        }
        assertThat(Fixtures.maxAbsDiff(finalNorm[0], Fixtures.f32(BASE, c.get("final_norm_out")))).isLessThanOrEqualTo(TOL);
        assertThat(Fixtures.maxAbsDiff(raw, Fixtures.f32(BASE, c.get("logits_unsuppressed")))).isLessThanOrEqualTo(TOL);
    }

    @ParameterizedTest
    @ValueSource(strings = {"text", "eos_stop"})
    void greedyGenerationReproducesTheReference(String name) {
        JsonNode c = golden.get("generate").get("cases").get(name);
        int[] prompt = Fixtures.ints(c.get("prompt_ids"));
        List<float[]> steps = new ArrayList<>();
        int[] ids = model.generateGreedy(prompt, 16, steps::add);
        assertThat(ids).containsExactly(Fixtures.ints(c.get("new_token_ids")));
        assertThat(ids[ids.length - 1] == model.config().eosId()).isEqualTo(c.get("stopped_on_eos").asBoolean());
        float[] expected = Fixtures.f32(BASE, c.get("step_logits"));
        int v = model.config().vocabSize();
        for (int i = 0; i < steps.size(); i++) {
            float[] exp = Arrays.copyOfRange(expected, i * v, (i + 1) * v);
            assertThat(Fixtures.maxAbsDiff(steps.get(i), exp)).as("step %d", i).isLessThanOrEqualTo(TOL);
        }
    }

    /** Left-padded batch: each row of HF's batch equals that row run alone; we run both streams in one step. */
    @Test
    void batchOfStreamsDecodesLikeEachStreamAlone() {
        JsonNode c = golden.get("generate_batch_left_pad");
        JsonNode inputs = c.get("input_ids"), masks = c.get("attention_mask");
        int streams = inputs.size();
        int v = model.config().vocabSize();
        float[] expected = Fixtures.f32(BASE, c.get("step_logits"));
        int steps = c.get("new_token_ids").get(0).size();
        List<KvCache> caches = new ArrayList<>();
        int[][] next = new int[streams][];
        int[][] produced = new int[streams][steps];
        for (int s = 0; s < streams; s++) {
            int[] row = Fixtures.ints(inputs.get(s)), mask = Fixtures.ints(masks.get(s));
            next[s] = Arrays.stream(range(row.length)).filter(i -> mask[i] == 1).map(i -> row[i]).toArray();
            caches.add(model.engine().newCache(next[s].length + steps));
        }
        for (int step = 0; step < steps; step++) {
            List<StreamStep> batch = new ArrayList<>();
            for (int s = 0; s < streams; s++) batch.add(StreamStep.last(caches.get(s), next[s]));
            float[][] logits = model.engine().forward(batch);
            for (int s = 0; s < streams; s++) {
                model.suppressImageTokens(logits[s], 1);
                float[] exp = Arrays.copyOfRange(expected, (s * steps + step) * v, (s * steps + step + 1) * v);
                assertThat(Fixtures.maxAbsDiff(logits[s], exp)).as("stream %d step %d", s, step).isLessThanOrEqualTo(TOL);
                produced[s][step] = Cm3Leon.argmax(logits[s]);
                next[s] = new int[]{produced[s][step]};
            }
        }
        caches.forEach(KvCache::close);
        for (int s = 0; s < streams; s++) {
            assertThat(produced[s]).containsExactly(Fixtures.ints(c.get("new_token_ids").get(s)));
        }
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }
}
