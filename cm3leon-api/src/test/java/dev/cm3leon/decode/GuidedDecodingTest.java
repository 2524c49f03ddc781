package dev.cm3leon.decode;

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

import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** Guidance and the generation loop against HF's guided greedy image decoding (fixtures/chameleon/cfg_golden.json). */
class GuidedDecodingTest {
    static Cm3Leon model;

    @BeforeAll
    static void load() {
        model = Cm3Leon.load(Fixtures.path("chameleon/model"), EngineOptions.defaults().withBackend("cpu"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private ModalityState imageState() {
        return new ModalityState(model.config().vocabulary().orElseThrow(), model.config().vocabSize(),
                model.config().vq().orElseThrow().tokensPerImage(), ModalityState.Output.IMAGE, true);
    }

    @ParameterizedTest
    @ValueSource(strings = {"scale_1", "scale_3"})
    void guidedGreedyImageDecodingReproducesTheReference(String name) {
        JsonNode c = Fixtures.json("chameleon/cfg_golden.json").get("cases").get(name);
        int[] cond = Fixtures.ints(c.get("cond_prompt")), uncond = Fixtures.ints(c.get("uncond_prompt"));
        double scale = c.get("cfg_scale").asDouble();
        int nImage = c.get("n_image_tokens").asInt();
        DecodingOptions options = new DecodingOptions().greedy(true).guidance(scale, DecodingOptions.Unconditional.BARE_BEGIN_OF_IMAGE);
        var seq = new GenerationLoop.Sequence(new int[][]{cond, uncond}, options.chainFor(0, 1), imageState(),
                new SplittableRandom(0), nImage + 1, model.config().eosId());
        var result = new GenerationLoop(model.engine()).run(List.of(seq), GenerationControl.none(), null);
        assertThat(result.tokens()[0]).containsExactly(Fixtures.ints(c.get("output_ids")));
    }

    /** One engine pass over both streams gives the same guided logits as two separate passes. */
    @Test
    void mixedLogitsOfOneBatchedPassEqualTheMixOfSeparatePasses() {
        int[] cond = {0, 97, 96, 115, 54, 101, 37}, uncond = {0, 37};
        float[] c, u;
        float[][] both;
        try (KvCache a = model.engine().newCache(8); KvCache b = model.engine().newCache(8)) {
            c = model.engine().forward(List.of(StreamStep.last(a, cond)))[0];
            u = model.engine().forward(List.of(StreamStep.last(b, uncond)))[0];
        }
        try (KvCache a = model.engine().newCache(8); KvCache b = model.engine().newCache(8)) {
            both = model.engine().forward(List.of(StreamStep.last(a, cond), StreamStep.last(b, uncond)));
        }
        for (double s : new double[]{1.5, 3.0, 7.5}) {
            float[] separate = mix(c, u, s), batched = mix(both[0], both[1], s);
            assertThat(Fixtures.maxAbsDiff(batched, separate)).as("scale %s", s).isLessThanOrEqualTo(1e-4);
        }
    }

    private static float[] mix(float[] c, float[] u, double s) {
        float[] out = c.clone();
        StepContext ctx = new StepContext(out, new float[][]{c, u}, null, 0, new int[0], 0, new SplittableRandom(1));
        Guidance.twoStream(s, true).apply(ctx);
        return out;
    }

    @Test
    void threeStreamGuidanceFollowsMetasFormula() {
        SplittableRandom r = new SplittableRandom(7);
        float[] f = random(r, 50), i = random(r, 50), u = random(r, 50);
        float[] out = f.clone();
        Guidance.threeStream(1.5, 7.5, true).apply(new StepContext(out, new float[][]{f, i, u}, null, 0, new int[0], 0, r));
        for (int t = 0; t < 50; t++) {
            double expected = u[t] + 1.5 * (i[t] - (double) u[t]) + 7.5 * (f[t] - (double) i[t]);
            assertThat((double) out[t]).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, Math.abs(expected))));
        }
    }

    static float[] random(SplittableRandom r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian() * 3);
        return x;
    }
}
