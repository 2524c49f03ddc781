package dev.cm3leon.cuda;

import dev.cm3leon.engine.TokenDraw;
import dev.cm3leon.engine.TokenDraw.Mix;
import dev.cm3leon.engine.TokenDraw.Modality;
import dev.cm3leon.engine.TokenDraw.Sampling;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The device-sampling kernels against their Java twins ({@link SamplingReference}) on fresh random logits over a
 * 65 536-entry vocabulary, outputs poisoned before each launch. Subclasses choose the device.
 */
abstract class SamplingKernelsTest extends DeviceTestSupport {
    static final int VOCAB = 65536;
    static final Sampling GREEDY = Sampling.greedy();

    /** Draw parameter blocks as the engine encodes them; stream s reads logits row s. */
    DeviceBuffer draws(List<TokenDraw> list) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate((long) StepPlan.DRAW_BYTES * list.size(), 16);
            for (int d = 0; d < list.size(); d++) StepPlan.writeDraw(m, (long) StepPlan.DRAW_BYTES * d, list.get(d), s -> s);
            DeviceBuffer b = buffer(m.byteSize());
            device.upload(b.pointer(), m);
            return b;
        }
    }

    float[] logits(int rows, int vocab, float scale) {
        float[] v = randn(rows * vocab);
        for (int i = 0; i < v.length; i++) v[i] *= scale;
        return v;
    }

    static float[] row(float[] all, int r, int vocab) {
        return Arrays.copyOfRange(all, r * vocab, (r + 1) * vocab);
    }

    @Test
    void guidanceMixesTheRowsInTheFormulasOrder() {
        int v = 1000;
        float[] logits = logits(4, v, 5f);
        List<TokenDraw> list = List.of(
                new TokenDraw(new Mix.Single(2), Modality.ANY, GREEDY),
                new TokenDraw(new Mix.Guidance2(0, 1, 3f), Modality.ANY, GREEDY),
                new TokenDraw(new Mix.Guidance3(0, 1, 2, 1.5f, 2.5f), Modality.ANY, GREEDY),
                new TokenDraw(new Mix.Contrastive(3, 1, 5, 0.1f), Modality.ANY, GREEDY));
        DeviceBuffer scores = poisoned(4L * list.size() * v), amateur = poisoned(4L * list.size() * v);
        kernels.guidanceMix(draws(list).pointer(), list.size(), f32(logits).pointer(), v, scores.pointer(), amateur.pointer());

        float[] s = readF32(scores, list.size() * v), a = readF32(amateur, list.size() * v);
        assertThat(row(s, 0, v)).containsExactly(row(logits, 2, v));
        assertThat(row(s, 1, v)).containsExactly(SamplingReference.guidance2(row(logits, 0, v), row(logits, 1, v), 3f));
        assertThat(row(s, 2, v)).containsExactly(SamplingReference.guidance3(row(logits, 0, v), row(logits, 1, v), row(logits, 2, v), 1.5f, 2.5f));
        assertThat(row(s, 3, v)).containsExactly(row(logits, 3, v));
        assertThat(row(a, 3, v)).containsExactly(row(logits, 1, v));
    }

    @Test
    void suppressionFollowsEachDrawsModality() {
        int v = 300;
        int[] image = IntStream.range(0, v).filter(i -> random.nextInt(3) == 0).toArray();
        boolean[] isImage = new boolean[v];
        for (int id : image) isImage[id] = true;
        int[] other = IntStream.range(0, v).filter(i -> !isImage[i]).toArray();
        List<TokenDraw> list = List.of(
                new TokenDraw(new Mix.Single(0), Modality.TEXT, GREEDY),
                new TokenDraw(new Mix.Single(0), Modality.IMAGE, GREEDY),
                new TokenDraw(new Mix.Single(0), Modality.ANY, GREEDY),
                new TokenDraw(new Mix.Contrastive(0, 1, 3, 0.5f), Modality.IMAGE, GREEDY));
        float[] scores0 = logits(list.size(), v, 1f), amateur0 = logits(list.size(), v, 1f);
        DeviceBuffer scores = f32(scores0), amateur = f32(amateur0);
        kernels.suppressTokens(draws(list).pointer(), list.size(), scores.pointer(), amateur.pointer(), v,
                i32(image).pointer(), image.length, i32(other).pointer(), other.length);

        float[] s = readF32(scores, list.size() * v), a = readF32(amateur, list.size() * v);
        for (int d = 0; d < list.size(); d++) {
            Modality m = list.get(d).modality();
            for (int i = 0; i < v; i++) {
                boolean suppressed = m == Modality.TEXT ? isImage[i] : m == Modality.IMAGE && !isImage[i];
                assertThat(s[d * v + i]).as("draw %d token %d", d, i).isEqualTo(suppressed ? SamplingReference.SUPPRESSED : scores0[d * v + i]);
                boolean amateurToo = d == 3 && suppressed;
                assertThat(a[d * v + i]).isEqualTo(amateurToo ? SamplingReference.SUPPRESSED : amateur0[d * v + i]);
            }
        }
    }

    @Test
    void contrastiveScoresMatchTheTwin() {
        List<TokenDraw> list = List.of(
                new TokenDraw(new Mix.Contrastive(0, 1, 10, 0.1f), Modality.ANY, GREEDY),
                new TokenDraw(new Mix.Contrastive(0, 1, 50, 0.5f), Modality.IMAGE, GREEDY),
                new TokenDraw(new Mix.Single(0), Modality.ANY, GREEDY));
        float[] c = logits(list.size(), VOCAB, 3f), a = logits(list.size(), VOCAB, 3f);
        for (int i = 0; i < VOCAB; i += 3) {  // the second draw's rows as its modality constraint left them
            c[VOCAB + i] = SamplingReference.SUPPRESSED;
            a[VOCAB + i] = SamplingReference.SUPPRESSED;
        }
        DeviceBuffer scores = f32(c);
        kernels.contrastive(draws(list).pointer(), list.size(), scores.pointer(), f32(a).pointer(), VOCAB);

        float[] s = readF32(scores, list.size() * VOCAB);
        for (int d = 0; d < 2; d++) {
            TokenDraw.Mix.Contrastive mix = (TokenDraw.Mix.Contrastive) list.get(d).mix();
            float[] expected = SamplingReference.contrastive(row(c, d, VOCAB), row(a, d, VOCAB), mix.k(), mix.alpha());
            float[] actual = row(s, d, VOCAB);
            int allowed = 0;
            for (int i = 0; i < VOCAB; i++) {
                if (expected[i] == Float.NEGATIVE_INFINITY) {
                    assertThat(actual[i]).as("draw %d token %d outside V, %s", d, i, seed()).isEqualTo(Float.NEGATIVE_INFINITY);
                } else {
                    allowed++;
                    assertThat((double) actual[i]).as("draw %d token %d, %s", d, i, seed()).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4));
                }
            }
            assertThat(allowed).as("draw %d keeps at least the top token", d).isPositive();
        }
        assertThat(row(s, 2, VOCAB)).as("other kinds are left alone").containsExactly(row(c, 2, VOCAB));
    }

    @Test
    void greedyTakesTheFirstLargest() {
        float[] x = logits(2, VOCAB, 1f);
        x[777] = 50f;
        x[40000] = 50f;
        Arrays.fill(x, VOCAB, 2 * VOCAB, SamplingReference.SUPPRESSED);
        List<TokenDraw> list = List.of(new TokenDraw(new Mix.Single(0), Modality.ANY, GREEDY),
                new TokenDraw(new Mix.Single(1), Modality.ANY, new Sampling(1f, 0, 1f, 0f, 1, 1)));
        DeviceBuffer tokens = poisoned(4L * list.size());
        kernels.sample(draws(list).pointer(), list.size(), f32(x).pointer(), VOCAB, tokens.pointer());
        assertThat(readI32(tokens, 2)).containsExactly(777, 0);
    }

    /** Each draw's token equals the twin's, unless the twin's random target sits within 1e-6 of a boundary. */
    @Test
    void sampledTokensMatchTheTwin() {
        List<Sampling> settings = List.of(
                new Sampling(1f, 0, 1f, 0f, random.nextLong(), random.nextInt(5000)),
                new Sampling(0.7f, 50, 1f, 0f, random.nextLong(), random.nextInt(5000)),
                new Sampling(1f, 0, 0.9f, 0f, random.nextLong(), random.nextInt(5000)),
                new Sampling(1.3f, 0, 1f, 0.05f, random.nextLong(), random.nextInt(5000)),
                new Sampling(1f, 200, 0.8f, 0.01f, random.nextLong(), random.nextInt(5000)),
                new Sampling(0.5f, 1, 1f, 0f, random.nextLong(), random.nextInt(5000)));
        int skipped = 0;
        for (int round = 0; round < 3; round++) {
            List<TokenDraw> list = new ArrayList<>();
            for (int d = 0; d < settings.size(); d++) list.add(new TokenDraw(new Mix.Single(d), Modality.ANY, settings.get(d)));
            float[] x = logits(list.size(), VOCAB, 2.5f);
            DeviceBuffer tokens = poisoned(4L * list.size());
            kernels.sample(draws(list).pointer(), list.size(), f32(x).pointer(), VOCAB, tokens.pointer());
            int[] actual = readI32(tokens, list.size());
            for (int d = 0; d < list.size(); d++) {
                Sampling p = settings.get(d);
                SamplingReference.Pick pick = SamplingReference.sample(row(x, d, VOCAB), p.temperature(), p.topK(), p.topP(), p.minP(), p.seed(), p.step());
                if (pick.margin() < 1e-6) {
                    skipped++;
                    continue;
                }
                assertThat(actual[d]).as("round %d draw %d (%s), %s", round, d, p, seed()).isEqualTo(pick.token());
            }
        }
        assertThat(skipped).as("draws too close to a boundary to compare").isLessThanOrEqualTo(2);
    }

    /** sample_tokens reads score row d for draw d: the same row sixteen times, sixteen steps. */
    @Test
    void aSeedAndStepAlwaysDrawTheSameToken() {
        float[] one = logits(1, VOCAB, 1f), x = new float[16 * VOCAB];
        List<TokenDraw> list = new ArrayList<>();
        for (int step = 0; step < 16; step++) {
            System.arraycopy(one, 0, x, step * VOCAB, VOCAB);
            list.add(new TokenDraw(new Mix.Single(step), Modality.ANY, new Sampling(1f, 0, 0.95f, 0f, 42, step)));
        }
        DeviceBuffer draws = draws(list), logits = f32(x), first = poisoned(4L * list.size()), second = poisoned(4L * list.size());
        kernels.sample(draws.pointer(), list.size(), logits.pointer(), VOCAB, first.pointer());
        kernels.sample(draws.pointer(), list.size(), logits.pointer(), VOCAB, second.pointer());
        int[] a = readI32(first, list.size());
        assertThat(readI32(second, list.size())).containsExactly(a);
        assertThat(Arrays.stream(a).distinct().count()).as("different steps draw different tokens").isGreaterThan(8);
    }
}
