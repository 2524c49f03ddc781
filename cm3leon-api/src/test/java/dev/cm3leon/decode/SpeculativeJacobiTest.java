package dev.cm3leon.decode;

import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.VocabularyMap;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Speculative Jacobi decoding keeps the sampling distribution: on a model whose next-token logits depend only on the
 * stream's first token, the last token and the position after begin-of-image (so each position's exact marginal follows by dynamic
 * programming through the sampler chain), the token drawn at every position of 20,000 images matches that marginal
 * by a chi-square test, with guidance and top-k, for several windows; accepting every draft fails the same test.
 */
class SpeculativeJacobiTest {
    // 8 image tokens at 4–11, BOI 12, EOI 13; prompts start with 14 (conditional) or 15 (unconditional).
    static final int V = 16, BOI = 12, EOI = 13, COND = 14, UNCOND = 15, BODY = 6, IMAGES = 20_000;
    static final VocabularyMap VOCAB = vocabulary();
    static final ImageLayout LAYOUT = ImageLayout.run(BOI, EOI, BODY);

    static VocabularyMap vocabulary() {
        Map<String, Integer> m = new LinkedHashMap<>();
        for (int i = 0; i < 8; i++) m.put(VocabularyMap.IMAGE_TOKEN_PREFIX + (char) ('A' + i) + "Z", 4 + i);
        m.put(VocabularyMap.BOI, BOI);
        m.put(VocabularyMap.EOI, EOI);
        return VocabularyMap.of(m, V, Path.of("test"));
    }

    /** Peaked logits per (first token, last token, position): a few likely tokens, many unlikely ones. */
    static final class MarkovEngine implements Engine {
        final float[][][][] table = new float[V][V][BODY + 8][V];      // [first][last][position after BOI][token]
        final ModelConfig config = new ModelConfig("chameleon", 8, 8, 1, 1, 1, 8, V, 64, 10000, 1e-5, false, false,
                false, 0, 2, 1, "float32", Optional.of(VOCAB), Optional.empty(), false);

        MarkovEngine(long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            for (float[][][] a : table) for (float[][] b : a) for (float[] c : b) for (int t = 0; t < V; t++) {
                c[t] = (float) (r.nextDouble() < 0.3 ? 2 + 2 * r.nextDouble() : r.nextGaussian());
            }
        }

        float[] logits(int first, int last, int position) {
            return table[first][last][position];
        }

        public ModelConfig config() {
            return config;
        }

        public KvCache newCache(int capacity) {
            return new TokenCache(capacity);
        }

        public float[][] forward(List<StreamStep> steps) {
            float[][] out = new float[steps.size()][];
            for (int i = 0; i < steps.size(); i++) {
                StreamStep st = steps.get(i);
                TokenCache c = (TokenCache) st.cache();
                int[] tokens = st.tokens();
                float[] all = new float[tokens.length * V];
                for (int t = 0; t < tokens.length; t++) {
                    c.tokens.add(tokens[t]);
                    int position = c.tokens.size() - 1 - c.tokens.indexOf(BOI);
                    System.arraycopy(logits(c.tokens.getFirst(), tokens[t], position), 0, all, t * V, V);
                }
                out[i] = switch (st.logits()) {
                    case ALL -> all;
                    case LAST -> Arrays.copyOfRange(all, all.length - V, all.length);
                    case NONE -> null;
                };
            }
            return out;
        }

        public String backendName() {
            return "markov";
        }

        public void close() {
        }
    }

    static final class TokenCache implements KvCache {
        final List<Integer> tokens = new ArrayList<>();
        final int capacity;

        TokenCache(int capacity) {
            this.capacity = capacity;
        }

        public int length() {
            return tokens.size();
        }

        public int capacity() {
            return capacity;
        }

        public void truncate(int length) {
            while (tokens.size() > length) tokens.removeLast();
        }

        public void close() {
        }
    }

    static SamplerChain chain(double guidance, int topK) {
        List<SamplerStage> stages = new ArrayList<>();
        if (guidance != 1.0) stages.add(Guidance.twoStream(guidance, false));
        stages.add(new ModalityMask());
        if (topK > 0) stages.add(new Truncation.TopK(topK));
        stages.add(new Truncation.Draw());
        return new SamplerChain(stages);
    }

    static int[][] prompts(double guidance) {
        // The conditional prompt is the longer one, as a text prompt is against the bare unconditional one.
        return guidance == 1.0 ? new int[][]{{COND, 4, 5, BOI}} : new int[][]{{COND, 4, 5, BOI}, {UNCOND, BOI}};
    }

    static List<GenerationLoop.Sequence> images(double guidance, int topK, long seed) {
        List<GenerationLoop.Sequence> seqs = new ArrayList<>();
        SplittableRandom root = new SplittableRandom(seed);
        for (int i = 0; i < IMAGES; i++) {
            ModalityState m = new ModalityState(VOCAB, V, LAYOUT, ModalityState.Output.IMAGE, LAYOUT.defaultGrid());
            seqs.add(new GenerationLoop.Sequence(prompts(guidance), chain(guidance, topK), m, root.split(), BODY + 1, new int[]{2}));
        }
        return seqs;
    }

    /** Each body position's exact marginal under the chain, by dynamic programming over the last token. */
    static double[][] exactMarginals(MarkovEngine e, double guidance, int topK) {
        double[][] marginal = new double[BODY][];
        double[] last = new double[V];
        last[BOI] = 1;
        int[][] prompts = prompts(guidance);
        for (int pos = 0; pos < BODY; pos++) {
            double[] next = new double[V];
            for (int prev = 0; prev < V; prev++) {
                if (last[prev] == 0) continue;
                float[][] streams = new float[prompts.length][];
                for (int s = 0; s < prompts.length; s++) streams[s] = e.logits(prompts[s][0], prev, pos).clone();
                ModalityState m = new ModalityState(VOCAB, V, LAYOUT, ModalityState.Output.IMAGE, LAYOUT.defaultGrid());
                for (int i = 0; i < pos; i++) m.accept(4);
                StepContext ctx = new StepContext(streams[0].clone(), streams, m, pos, new int[]{COND, BOI}, 2,
                        new SplittableRandom(0));
                double[] p = chain(guidance, topK).distribution(ctx);
                for (int t = 0; t < V; t++) next[t] += last[prev] * p[t];
            }
            marginal[pos] = next;
            last = next;
        }
        return marginal;
    }

    /** The largest chi-square statistic over the body positions, with its degrees of freedom, as a p-value. */
    static double worstPValue(int[][] tokens, double[][] marginal) {
        double worst = 1;
        for (int pos = 0; pos < BODY; pos++) {
            long[] observed = new long[V];
            for (int[] t : tokens) observed[t[pos]]++;
            double chi2 = 0;
            int cells = 0;
            for (int t = 0; t < V; t++) {
                double expected = marginal[pos][t] * tokens.length;
                if (expected < 5) {
                    // Too rare to test alone: a token the chain forbids must simply never appear.
                    if (marginal[pos][t] == 0) assertThat(observed[t]).as("forbidden token %d at %d", t, pos).isZero();
                    continue;
                }
                chi2 += (observed[t] - expected) * (observed[t] - expected) / expected;
                cells++;
            }
            worst = Math.min(worst, ChiSquare.survival(chi2, cells - 1));
        }
        return worst;
    }

    static int[][] speculative(MarkovEngine e, double guidance, int topK, int window, boolean acceptAll) {
        var r = new SpeculativeJacobiLoop(e, window, acceptAll).run(images(guidance, topK, 99), GenerationControl.none(), null);
        for (int[] t : r.tokens()) {
            assertThat(t).hasSize(BODY + 1);
            assertThat(t[BODY]).isEqualTo(EOI);
        }
        return r.tokens();
    }

    @Test
    void plainSamplingPassesTheTestItself() {
        MarkovEngine e = new MarkovEngine(1);
        int[][] tokens = new GenerationLoop(e).run(images(1.0, 0, 7), GenerationControl.none(), null).tokens();
        assertThat(worstPValue(tokens, exactMarginals(e, 1.0, 0))).isGreaterThan(1e-3);
    }

    @Test
    void everyPositionIsDistributedAsPlainSamplingForAnyWindow() {
        MarkovEngine e = new MarkovEngine(2);
        double[][] exact = exactMarginals(e, 1.0, 0);
        for (int window : new int[]{1, 3, 8}) {
            assertThat(worstPValue(speculative(e, 1.0, 0, window, false), exact)).as("window %d", window).isGreaterThan(1e-3);
        }
    }

    @Test
    void underGuidanceAndTopKTheGuidedDistributionIsKept() {
        MarkovEngine e = new MarkovEngine(3);
        assertThat(worstPValue(speculative(e, 3.0, 4, 4, false), exactMarginals(e, 3.0, 4))).isGreaterThan(1e-3);
    }

    @Test
    void acceptingEveryDraftFailsTheTest() {
        MarkovEngine e = new MarkovEngine(2);
        assertThat(worstPValue(speculative(e, 1.0, 0, 4, true), exactMarginals(e, 1.0, 0))).isLessThan(1e-6);
    }

    @Test
    void theSameSeedAndWindowGiveTheSameImageAndFewerPasses() {
        MarkovEngine e = new MarkovEngine(4);
        var a = new SpeculativeJacobiLoop(e, 4).run(images(1.0, 0, 5).subList(0, 50), GenerationControl.none(), null);
        var b = new SpeculativeJacobiLoop(e, 4).run(images(1.0, 0, 5).subList(0, 50), GenerationControl.none(), null);
        assertThat(a.tokens()).isDeepEqualTo(b.tokens());
        assertThat(a.accepted()[0]).isPositive();
        assertThat(a.accepted()[0]).isLessThanOrEqualTo(a.drafted()[0]);
    }

    /** The chi-square distribution's upper tail, through the regularised incomplete gamma function. */
    static final class ChiSquare {
        static double survival(double x, int dof) {
            if (dof < 1) return 1;
            return 1 - lowerRegularizedGamma(dof / 2.0, x / 2.0);
        }

        static double lowerRegularizedGamma(double a, double x) {
            if (x <= 0) return 0;
            if (x < a + 1) {
                double sum = 1 / a, term = sum;
                for (int n = 1; n < 1000; n++) {
                    term *= x / (a + n);
                    sum += term;
                    if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
                }
                return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
            }
            // Continued fraction for the upper tail (Lentz).
            double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;
            for (int i = 1; i < 1000; i++) {
                double an = -i * (i - a);
                b += 2;
                d = an * d + b;
                if (Math.abs(d) < 1e-300) d = 1e-300;
                c = b + an / c;
                if (Math.abs(c) < 1e-300) c = 1e-300;
                d = 1 / d;
                double delta = d * c;
                h *= delta;
                if (Math.abs(delta - 1) < 1e-15) break;
            }
            return 1 - Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
        }

        static double logGamma(double x) {
            double[] g = {676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
                    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
            if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
            x -= 1;
            double a = 0.99999999999980993;
            double t = x + 7.5;
            for (int i = 0; i < 8; i++) a += g[i] / (x + i + 1);
            return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
        }
    }

    @Test
    void theChiSquareTailMatchesKnownQuantiles() {
        // 95th percentiles of chi-square with 1, 5 and 10 degrees of freedom (standard tables).
        assertThat(ChiSquare.survival(3.841, 1)).isCloseTo(0.05, org.assertj.core.data.Offset.offset(5e-4));
        assertThat(ChiSquare.survival(11.070, 5)).isCloseTo(0.05, org.assertj.core.data.Offset.offset(5e-4));
        assertThat(ChiSquare.survival(18.307, 10)).isCloseTo(0.05, org.assertj.core.data.Offset.offset(5e-4));
    }
}
