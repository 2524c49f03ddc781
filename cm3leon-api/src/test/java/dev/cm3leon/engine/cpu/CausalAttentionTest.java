package dev.cm3leon.engine.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The online-softmax attention against the textbook two-pass softmax, in double. */
class CausalAttentionTest {
    @ParameterizedTest(name = "ctx {0}, head dim {1}, kv width {2}")
    @CsvSource({"1, 16, 16", "5, 3, 7", "63, 16, 32", "64, 8, 8", "65, 64, 128", "200, 20, 40", "517, 128, 256"})
    void matchesTheTwoPassSoftmax(int ctx, int hd, int kvDim) {
        Random rnd = new Random(ctx * 131L + hd);
        float[] q = RandomWeights.floats(hd + 3, rnd);
        float[] keys = RandomWeights.floats(ctx * kvDim, rnd), values = RandomWeights.floats(ctx * kvDim, rnd);
        // Large scores in some blocks make the running maximum move.
        for (int i = 0; i < keys.length; i += 97) keys[i] *= 20;
        int kvOff = kvDim - hd;
        float scale = (float) (1 / Math.sqrt(hd));
        float[] out = new float[hd + 5];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = arena.allocate(4L * keys.length, 64), v = arena.allocate(4L * values.length, 64);
            MemorySegment.copy(keys, 0, k, ValueLayout.JAVA_FLOAT, 0, keys.length);
            MemorySegment.copy(values, 0, v, ValueLayout.JAVA_FLOAT, 0, values.length);
            CausalAttention.attend(q, 3, k, v, kvOff, kvDim, ctx, hd, scale, out, 5, new float[CausalAttention.BLOCK]);
        }

        double[] s = new double[ctx];
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int j = 0; j < ctx; j++) {
            for (int i = 0; i < hd; i++) s[j] += (double) q[3 + i] * keys[j * kvDim + kvOff + i];
            s[j] *= scale;
            max = Math.max(max, s[j]);
        }
        for (int j = 0; j < ctx; j++) sum += Math.exp(s[j] - max);
        for (int i = 0; i < hd; i++) {
            double o = 0;
            for (int j = 0; j < ctx; j++) o += Math.exp(s[j] - max) / sum * values[j * kvDim + kvOff + i];
            assertThat((double) out[5 + i]).as("dim %d", i).isCloseTo(o, org.assertj.core.data.Offset.offset(2e-5));
        }
    }

    /**
     * A prompt's queries taken together: each against the two-pass softmax over its own causal context (fresh random
     * values; the seed is in the message), and each the same bits alone as beside the others.
     */
    @ParameterizedTest(name = "queries from position {0}, {1} of them, head dim {2}, kv width {3}, bf16 {4}")
    @CsvSource({"0, 32, 64, 128, false", "37, 9, 16, 16, false", "100, 32, 128, 256, false", "5, 20, 64, 64, true",
            "0, 1, 8, 8, false", "63, 17, 20, 40, false"})
    void promptQueriesTakenTogetherMatchTheTwoPassSoftmaxAndEachOtherAlone(int first, int count, int hd, int kvDim, boolean bf16) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int ctx = first + count, qStride = hd + 7, kvOff = kvDim - hd;
        float[] q = RandomWeights.floats(count * qStride + 3, rnd);
        float[] keys = RandomWeights.floats(ctx * kvDim, rnd), values = RandomWeights.floats(ctx * kvDim, rnd);
        for (int i = 0; i < keys.length; i += 97) keys[i] *= 20;
        if (bf16) {
            for (int i = 0; i < keys.length; i++) keys[i] = Float.intBitsToFloat((CpuKvCache.toBf16(keys[i]) & 0xFFFF) << 16);
            for (int i = 0; i < values.length; i++) values[i] = Float.intBitsToFloat((CpuKvCache.toBf16(values[i]) & 0xFFFF) << 16);
        }
        float scale = (float) (1 / Math.sqrt(hd));
        int[] ctxs = new int[count];
        for (int g = 0; g < count; g++) ctxs[g] = first + g + 1;
        float[] out = new float[count * qStride + 5], alone = new float[count * qStride + 5];
        try (Arena arena = Arena.ofConfined()) {
            int es = bf16 ? 2 : 4;
            MemorySegment k = arena.allocate((long) es * keys.length, 64), v = arena.allocate((long) es * values.length, 64);
            for (int i = 0; i < keys.length; i++) {
                if (bf16) {
                    k.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, CpuKvCache.toBf16(keys[i]));
                    v.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, CpuKvCache.toBf16(values[i]));
                } else {
                    k.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * i, keys[i]);
                    v.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4L * i, values[i]);
                }
            }
            float[] scratch = CausalAttention.queryScratch(hd);
            CausalAttention.attendQueries(q, 3, qStride, count, ctxs, k, v, kvOff, kvDim, hd, scale, out, 5, scratch, bf16);
            for (int g = 0; g < count; g++) {
                CausalAttention.attendQueries(q, 3 + g * qStride, qStride, 1, new int[]{ctxs[g]}, k, v, kvOff, kvDim, hd, scale,
                        alone, 5 + g * qStride, scratch, bf16);
            }
        }
        assertThat(out).as("seed %d: each query alone", seed).containsExactly(alone);
        for (int g = 0; g < count; g++) {
            int c = ctxs[g], qo = 3 + g * qStride;
            double[] sc = new double[c];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < c; j++) {
                for (int i = 0; i < hd; i++) sc[j] += (double) q[qo + i] * keys[j * kvDim + kvOff + i];
                sc[j] *= scale;
                max = Math.max(max, sc[j]);
            }
            for (int j = 0; j < c; j++) sum += Math.exp(sc[j] - max);
            for (int i = 0; i < hd; i++) {
                double o = 0;
                for (int j = 0; j < c; j++) o += Math.exp(sc[j] - max) / sum * values[j * kvDim + kvOff + i];
                assertThat((double) out[5 + g * qStride + i]).as("seed %d: query %d, dim %d", seed, g, i)
                        .isCloseTo(o, org.assertj.core.data.Offset.offset(2e-5));
            }
        }
    }

    @ParameterizedTest(name = "bf16, ctx {0}, head dim {1}, kv width {2}")
    @CsvSource({"1, 16, 16", "5, 3, 7", "65, 64, 128", "517, 128, 256"})
    void withBf16KeysAndValuesMatchesTheTwoPassSoftmaxOfTheRoundedValues(int ctx, int hd, int kvDim) {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom();
        float[] q = new float[hd + 3], keys = new float[ctx * kvDim], values = new float[ctx * kvDim];
        for (float[] a : new float[][]{q, keys, values}) for (int i = 0; i < a.length; i++) a[i] = (float) rnd.nextGaussian();
        int kvOff = kvDim - hd;
        float scale = (float) (1 / Math.sqrt(hd));
        float[] out = new float[hd + 5];
        float[] k16 = new float[keys.length], v16 = new float[values.length];   // what the cache holds, widened
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = arena.allocate(2L * keys.length, 64), v = arena.allocate(2L * values.length, 64);
            for (int i = 0; i < keys.length; i++) {
                k.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, CpuKvCache.toBf16(keys[i]));
                v.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, CpuKvCache.toBf16(values[i]));
                k16[i] = Float.intBitsToFloat((k.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i) & 0xFFFF) << 16);
                v16[i] = Float.intBitsToFloat((v.get(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i) & 0xFFFF) << 16);
                // Round to nearest: within half a bf16 ulp (8-bit mantissa) of the f32.
                assertThat((double) Math.abs(k16[i] - keys[i])).isLessThanOrEqualTo(Math.abs(keys[i]) / 256.0);
            }
            CausalAttention.attend(q, 3, k, v, kvOff, kvDim, ctx, hd, scale, out, 5, new float[CausalAttention.BLOCK], true);
        }
        double[] s = new double[ctx];
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int j = 0; j < ctx; j++) {
            for (int i = 0; i < hd; i++) s[j] += (double) q[3 + i] * k16[j * kvDim + kvOff + i];
            s[j] *= scale;
            max = Math.max(max, s[j]);
        }
        for (int j = 0; j < ctx; j++) sum += Math.exp(s[j] - max);
        for (int i = 0; i < hd; i++) {
            double o = 0;
            for (int j = 0; j < ctx; j++) o += Math.exp(s[j] - max) / sum * v16[j * kvDim + kvOff + i];
            assertThat((double) out[5 + i]).as("dim %d", i).isCloseTo(o, org.assertj.core.data.Offset.offset(2e-5));
        }
    }

    @org.junit.jupiter.api.Test
    void bf16RoundsToNearestEvenAndKeepsSpecialValues() {
        assertThat(CpuKvCache.toBf16(1f)).isEqualTo((short) 0x3F80);
        assertThat(CpuKvCache.toBf16(Float.intBitsToFloat(0x3F808000))).isEqualTo((short) 0x3F80);   // tie → even
        assertThat(CpuKvCache.toBf16(Float.intBitsToFloat(0x3F818000))).isEqualTo((short) 0x3F82);   // tie → even
        assertThat(CpuKvCache.toBf16(Float.intBitsToFloat(0x3F808001))).isEqualTo((short) 0x3F81);
        assertThat(CpuKvCache.toBf16(Float.POSITIVE_INFINITY)).isEqualTo((short) 0x7F80);
        assertThat(Float.isNaN(Float.intBitsToFloat(CpuKvCache.toBf16(Float.NaN) << 16))).isTrue();
    }
}
