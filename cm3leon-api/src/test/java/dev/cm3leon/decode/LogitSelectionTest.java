package dev.cm3leon.decode;

import dev.cm3leon.checkpoint.VocabularyMap;
import org.junit.jupiter.api.RepeatedTest;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Top-k, top-p, greedy and the draw by selection over the modality's candidates, against the same stages computed by
 * sorting the whole vocabulary, on fresh random logits: a Chameleon-sized vocabulary (65,536) whose image tokens are
 * 8192 ids in two runs, the rest text, with ties and −∞ entries.
 */
class LogitSelectionTest {
    static final int V = 65536;
    static final SplittableRandom SEEDS = new SplittableRandom();
    static final VocabularyMap VOCABULARY = vocabulary();

    /** Image tokens at ids 4–4099 and 30000–34095 (not contiguous, as a vocabulary map may have them). */
    static VocabularyMap vocabulary() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put("<s>", 0);
        for (int code = 0; code < 8192; code++) {
            StringBuilder sb = new StringBuilder(VocabularyMap.IMAGE_TOKEN_PREFIX);
            for (char c : Integer.toString(code).toCharArray()) sb.append((char) ('A' + (c - '0')));
            m.put(sb.append('Z').toString(), code < 4096 ? 4 + code : 30000 + code - 4096);
        }
        m.put(VocabularyMap.BOI, 40000);
        m.put(VocabularyMap.EOI, 40001);
        return VocabularyMap.of(m, V, Path.of("test"));
    }

    /** Random logits with repeated values (ties) and some −∞. */
    static float[] logits(SplittableRandom r) {
        float[] x = new float[V];
        double spread = 0.5 + 4 * r.nextDouble();
        for (int i = 0; i < V; i++) {
            x[i] = r.nextInt(50) == 0 ? Float.NEGATIVE_INFINITY : (float) Math.round(r.nextGaussian() * spread * 64) / 64f;
        }
        return x;
    }

    /** The context after the modality mask: in an image, or in text (no candidate bound). */
    static StepContext masked(float[] logits, boolean inImage, SplittableRandom random) {
        ModalityState state = new ModalityState(VOCABULARY, V, 1024,
                inImage ? ModalityState.Output.IMAGE : ModalityState.Output.INTERLEAVED, inImage);
        StepContext ctx = new StepContext(logits, new float[][]{logits.clone()}, state, 0, new int[]{0}, 1, random);
        new ModalityMask().apply(ctx);
        return ctx;
    }

    /** Finite ids by descending logit, ties by ascending id: the order a full sort gives. */
    static int[] sorted(float[] l) {
        // Logits here are multiples of 1/64 below 2^20: (−64·logit, id) packs exactly into one sortable long.
        long[] keys = IntStream.range(0, l.length).filter(i -> l[i] > Float.NEGATIVE_INFINITY)
                .mapToLong(i -> ((long) Math.round(-64.0 * l[i]) << 32) + i).toArray();
        Arrays.sort(keys);
        return Arrays.stream(keys).mapToInt(k -> (int) (k & 0xFFFFFFFFL)).toArray();
    }

    static float[] referenceTopK(float[] in, int k) {
        float[] l = in.clone();
        int[] order = sorted(l);
        for (int r = k; r < order.length; r++) l[order[r]] = Float.NEGATIVE_INFINITY;
        return l;
    }

    static float[] referenceTopP(float[] in, double p) {
        float[] l = in.clone();
        int[] order = sorted(l);
        double m = l[order[0]], z = 0;
        for (int i : order) z += Math.exp(l[i] - m);
        double cumulative = 0;
        int keep = order.length;
        for (int r = 0; r < order.length; r++) {
            cumulative += Math.exp(l[order[r]] - m) / z;
            if (cumulative >= p) {
                keep = r + 1;
                break;
            }
        }
        for (int r = keep; r < order.length; r++) l[order[r]] = Float.NEGATIVE_INFINITY;
        return l;
    }

    @RepeatedTest(6)
    void theMaskBoundsTheCandidatesToTheImageTokensInsideAnImage() {
        float[] l = logits(SEEDS.split());
        StepContext ctx = masked(l, true, new SplittableRandom(1));
        assertThat(ctx.candidates()).containsExactly(VOCABULARY.imageTokenIds());
        assertThat(IntStream.range(0, V).filter(i -> !VOCABULARY.isImageToken(i) && l[i] > Float.NEGATIVE_INFINITY).boxed().toList())
                .as("finite ids outside the image tokens").isEmpty();
        assertThat(masked(logits(SEEDS.split()), false, new SplittableRandom(1)).candidates()).isNull();
    }

    @RepeatedTest(10)
    void topKBySelectionKeepsWhatASortKeeps() {
        SplittableRandom r = SEEDS.split();
        boolean inImage = r.nextBoolean();
        float[] l = logits(r);
        StepContext ctx = masked(l, inImage, new SplittableRandom(1));
        int k = r.nextInt(4) == 0 ? 1 + r.nextInt(5) : 1 + r.nextInt(inImage ? 9000 : 70000);
        float[] expected = referenceTopK(l, k);
        new Truncation.TopK(k).apply(ctx);
        assertThat(l).as("k = %d", k).isEqualTo(expected);
    }

    @RepeatedTest(10)
    void topPBySelectionKeepsWhatASortKeeps() {
        SplittableRandom r = SEEDS.split();
        boolean inImage = r.nextBoolean();
        float[] l = logits(r);
        StepContext ctx = masked(l, inImage, new SplittableRandom(1));
        double p = r.nextInt(5) == 0 ? 1e-6 : r.nextDouble();
        float[] expected = referenceTopP(l, p);
        new Truncation.TopP(p).apply(ctx);
        assertThat(l).as("p = %s", p).isEqualTo(expected);
    }

    @RepeatedTest(10)
    void drawAndGreedyOverTheCandidatesPickWhatAPassOverTheVocabularyPicks() {
        SplittableRandom r = SEEDS.split();
        float[] l = logits(r);
        long seed = r.nextLong();
        StepContext bounded = masked(l, true, new SplittableRandom(seed));
        // The same masked logits without the bound: every stage then walks all 65,536 ids.
        StepContext whole = new StepContext(l.clone(), new float[][]{l}, bounded.modality(), 0, new int[]{0}, 1,
                new SplittableRandom(seed));
        new Truncation.Draw().apply(bounded);
        new Truncation.Draw().apply(whole);
        assertThat(bounded.chosen()).isEqualTo(whole.chosen());
        assertThat(VOCABULARY.isImageToken(bounded.chosen())).isTrue();
        new Truncation.Greedy().apply(bounded);
        new Truncation.Greedy().apply(whole);
        assertThat(bounded.chosen()).isEqualTo(whole.chosen()).isEqualTo(sorted(l)[0]);
    }

    @RepeatedTest(4)
    void minPAndTemperatureOverTheCandidatesMatchThemOverTheVocabulary() {
        SplittableRandom r = SEEDS.split();
        float[] l = logits(r);
        StepContext bounded = masked(l, true, new SplittableRandom(1));
        float[] w = l.clone();
        StepContext whole = new StepContext(w, new float[][]{w}, bounded.modality(), 0, new int[]{0}, 1, new SplittableRandom(1));
        for (SamplerStage s : new SamplerStage[]{new Truncation.Temperature(0.7), new Truncation.MinP(0.05)}) {
            s.apply(bounded);
            s.apply(whole);
        }
        assertThat(l).isEqualTo(w);
        assertThat(Arrays.stream(VOCABULARY.imageTokenIds()).filter(i -> l[i] > Float.NEGATIVE_INFINITY).count()).isPositive();
    }
}
