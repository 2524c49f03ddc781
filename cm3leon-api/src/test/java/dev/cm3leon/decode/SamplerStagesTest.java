package dev.cm3leon.decode;

import dev.cm3leon.InvalidRequestException;
import dev.cm3leon.checkpoint.VocabularyMap;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each stage against a direct, naive computation on fresh random logits. */
class SamplerStagesTest {
    static final int V = 40;
    static final SplittableRandom SEEDS = new SplittableRandom(20261126L);

    /** A text-only vocabulary (no image tokens) so the modality mask leaves everything allowed. */
    static ModalityState textState() {
        Map<String, Integer> m = new HashMap<>();
        m.put("<s>", 0);
        return new ModalityState(VocabularyMap.of(m, V, Path.of("test")), V, 0, ModalityState.Output.TEXT, false);
    }

    static StepContext ctx(float[] logits, float[]... streams) {
        float[][] all = new float[streams.length + 1][];
        all[0] = logits.clone();
        System.arraycopy(streams, 0, all, 1, streams.length);
        return new StepContext(logits, all, textState(), 0, new int[]{3, 3, 7}, 3, new SplittableRandom(5));
    }

    static float[] randomLogits(SplittableRandom r) {
        float[] x = new float[V];
        for (int i = 0; i < V; i++) x[i] = (float) (r.nextGaussian() * 2);
        return x;
    }

    static double[] softmax(float[] x) {
        double m = Double.NEGATIVE_INFINITY;
        for (float f : x) m = Math.max(m, f);
        double z = 0;
        for (float f : x) z += Math.exp(f - m);
        double[] p = new double[x.length];
        for (int i = 0; i < x.length; i++) p[i] = Math.exp(x[i] - m) / z;
        return p;
    }

    @RepeatedTest(20)
    void contrastiveTopKKeepsTokensAboveAlphaTimesTheKthProbabilityAndScoresTheLogRatio() {
        SplittableRandom r = SEEDS.split();
        float[] cond = randomLogits(r), amateur = randomLogits(r);
        int k = 1 + r.nextInt(6);
        double alpha = 0.05 + r.nextDouble() * 0.9;
        float[] work = cond.clone();
        new ContrastiveTopK(k, alpha, 1).apply(ctx(work, amateur));
        double[] pc = softmax(cond), pa = softmax(amateur);
        double kth = Arrays.stream(pc).boxed().sorted(Comparator.reverseOrder()).skip(k - 1).findFirst().orElseThrow();
        for (int t = 0; t < V; t++) {
            if (pc[t] >= alpha * kth * (1 - 1e-9)) {
                assertThat((double) work[t]).isCloseTo(Math.log(pc[t]) - Math.log(pa[t]), org.assertj.core.data.Offset.offset(1e-4));
            } else if (pc[t] < alpha * kth * (1 - 1e-6)) {
                assertThat(work[t]).isEqualTo(Float.NEGATIVE_INFINITY);
            }
        }
    }

    @RepeatedTest(20)
    void topPKeepsTheSmallestNucleusReachingP() {
        SplittableRandom r = SEEDS.split();
        float[] logits = randomLogits(r);
        double p = 0.1 + r.nextDouble() * 0.85;
        float[] work = logits.clone();
        new Truncation.TopP(p).apply(ctx(work));
        double[] probs = softmax(logits);
        Integer[] order = IntStream.range(0, V).boxed().sorted((a, b) -> Double.compare(probs[b], probs[a])).toArray(Integer[]::new);
        double c = 0;
        int keep = 0;
        while (c < p) c += probs[order[keep++]];
        for (int i = 0; i < V; i++) {
            boolean kept = Arrays.asList(order).subList(0, keep).contains(i);
            assertThat(work[i] > Float.NEGATIVE_INFINITY).as("token %d", i).isEqualTo(kept);
        }
    }

    @RepeatedTest(10)
    void topKAndMinPTruncateAsDefined() {
        SplittableRandom r = SEEDS.split();
        float[] logits = randomLogits(r);
        int k = 1 + r.nextInt(V);
        float[] work = logits.clone();
        new Truncation.TopK(k).apply(ctx(work));
        assertThat(IntStream.range(0, V).filter(i -> work[i] > Float.NEGATIVE_INFINITY).count()).isEqualTo(k);
        float kthValue = (float) IntStream.range(0, V).mapToDouble(i -> logits[i]).boxed().sorted(Comparator.reverseOrder()).skip(k - 1).findFirst().orElseThrow().doubleValue();
        for (int i = 0; i < V; i++) if (logits[i] > kthValue) assertThat(work[i]).isEqualTo(logits[i]);

        double minP = r.nextDouble() * 0.5;
        float[] w2 = logits.clone();
        new Truncation.MinP(minP).apply(ctx(w2));
        double[] probs = softmax(logits);
        double max = Arrays.stream(probs).max().orElseThrow();
        for (int i = 0; i < V; i++) {
            if (probs[i] < minP * max * (1 - 1e-6)) assertThat(w2[i]).isEqualTo(Float.NEGATIVE_INFINITY);
            if (probs[i] > minP * max * (1 + 1e-6)) assertThat(w2[i]).isEqualTo(logits[i]);
        }
    }

    @Test
    void drawFollowsTheDistribution() {
        float[] logits = {0f, (float) Math.log(3), Float.NEGATIVE_INFINITY, (float) Math.log(6)};
        int[] counts = new int[4];
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 20000; i++) {
            StepContext c = new StepContext(logits.clone(), new float[][]{logits}, null, 0, new int[0], 0, random);
            new Truncation.Draw().apply(c);
            counts[c.chosen()]++;
        }
        assertThat(counts[2]).isZero();
        assertThat(counts[0] / 20000.0).isCloseTo(0.1, org.assertj.core.data.Offset.offset(0.015));
        assertThat(counts[1] / 20000.0).isCloseTo(0.3, org.assertj.core.data.Offset.offset(0.02));
        assertThat(counts[3] / 20000.0).isCloseTo(0.6, org.assertj.core.data.Offset.offset(0.02));
    }

    @Test
    void repetitionPenaltyFollowsHfsRule() {
        float[] logits = new float[V];
        logits[3] = 2f;
        logits[7] = -2f;
        logits[9] = 2f;
        new Truncation.RepetitionPenalty(2.0).apply(ctx(logits));
        assertThat(logits[3]).isEqualTo(1f);
        assertThat(logits[7]).isEqualTo(-4f);
        assertThat(logits[9]).isEqualTo(2f);
    }

    @Test
    void invalidParametersFailWhenTheRequestIsBuilt() {
        DecodingOptions o = new DecodingOptions();
        assertThatThrownBy(() -> o.topP(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("top-p");
        assertThatThrownBy(() -> o.topP(1.5)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("top-p");
        assertThatThrownBy(() -> o.temperature(-1)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("temperature");
        assertThatThrownBy(() -> o.topK(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("top-k");
        assertThatThrownBy(() -> o.guidance(Double.NaN)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("guidance");
        assertThatThrownBy(() -> o.guidance(1.5, Double.POSITIVE_INFINITY)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> o.contrastive(0, 0.1)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("k");
        assertThatThrownBy(() -> o.samples(0)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("samples");
        assertThatThrownBy(() -> o.minP(1)).isInstanceOf(InvalidRequestException.class).hasMessageContaining("min-p");
    }

    @Test
    void halfTopPHalfContrastiveAlternatesSamples() {
        DecodingOptions o = new DecodingOptions().topP(0.9).strategy(DecodingOptions.Strategy.HALF_TOP_P_HALF_CONTRASTIVE);
        assertThat(o.chainFor(0, 1).describe()).contains("TopP").doesNotContain("cd-k");
        assertThat(o.chainFor(1, 1).describe()).contains("cd-k").doesNotContain("TopP");
    }
}
