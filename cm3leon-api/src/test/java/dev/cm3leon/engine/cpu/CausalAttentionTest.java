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
    /**
     * A decode row, all heads at once, in pieces of {@link CausalAttention#PIECE_POSITIONS} positions merged: each head
     * against the two-pass softmax over the whole context (fresh random values, the seed in the message; large scores
     * in some blocks move the running maximum). Query heads share kv heads in groups, as with GQA. With bf16 the
     * reference uses what the cache holds, widened.
     */
    @ParameterizedTest(name = "ctx {0}, {1} heads in groups of {2}, head dim {3}, bf16 {4}")
    @CsvSource({"1, 1, 1, 16, false", "5, 3, 1, 3, false", "31, 4, 2, 8, false", "33, 2, 1, 64, false",
            "128, 4, 4, 16, false", "129, 8, 2, 64, false", "517, 6, 3, 20, false", "1030, 4, 1, 64, false",
            "1, 2, 2, 16, true", "65, 4, 2, 64, true", "300, 8, 1, 128, true", "1030, 4, 2, 64, true", "40, 3, 1, 24, true"})
    void decodeRowsInPiecesMatchTheTwoPassSoftmax(int ctx, int heads, int group, int hd, boolean bf16) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int kvDim = heads / group * hd, qOff = 3;
        float[] q = RandomWeights.floats(qOff + heads * hd, rnd);
        float[] keys = RandomWeights.floats(ctx * kvDim, rnd), values = RandomWeights.floats(ctx * kvDim, rnd);
        for (int i = 0; i < keys.length; i += 97) keys[i] *= 20;
        float scale = (float) (1 / Math.sqrt(hd));
        int pieces = (ctx + CausalAttention.PIECE_POSITIONS - 1) / CausalAttention.PIECE_POSITIONS;
        int size = CausalAttention.pieceSize(heads, hd);
        float[] partial = new float[7 + pieces * size], out = new float[5 + heads * hd];
        if (bf16) {
            roundToBf16(keys);
            roundToBf16(values);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = cache(arena, keys, bf16), v = cache(arena, values, bf16);
            // The query as the engine hands it over: in pair order where the piece reads a bf16 cache in pairs.
            float[] qIn = q;
            if (CausalAttention.inPairOrder(bf16, hd)) {
                qIn = q.clone();
                CausalAttention.toPairOrder(q, qOff, heads * hd, hd, qIn, qOff);
            }
            float[] scratch = CausalAttention.pieceScratch(heads);
            for (int p = 0; p < pieces; p++) {
                int p0 = p * CausalAttention.PIECE_POSITIONS;
                CausalAttention.attendPiece(qIn, qOff, heads, group, hd, k, v, kvDim, p0,
                        Math.min(ctx, p0 + CausalAttention.PIECE_POSITIONS), scale, bf16, partial, 7 + p * size, scratch);
            }
            CausalAttention.mergePieces(partial, 7, pieces, heads, hd, CausalAttention.inPairOrder(bf16, hd), out, 5);
        }
        for (int h = 0; h < heads; h++) {
            double[] expected = twoPassSoftmax(q, qOff + h * hd, keys, values, h / group * hd, kvDim, ctx, hd, scale);
            for (int i = 0; i < hd; i++) {
                assertThat((double) out[5 + h * hd + i]).as("seed %d: head %d, dim %d", seed, h, i)
                        .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(2e-5));
            }
        }
    }

    /** Each value replaced by what a bf16 cache holds of it, widened back. */
    static void roundToBf16(float[] a) {
        for (int i = 0; i < a.length; i++) a[i] = Float.intBitsToFloat((CpuKvCache.toBf16(a[i]) & 0xFFFF) << 16);
    }

    /** The values as a cache stores them: f32, or bf16 (exact for values already {@link #roundToBf16 rounded}). */
    static MemorySegment cache(Arena arena, float[] values, boolean bf16) {
        MemorySegment s = arena.allocate((long) (bf16 ? 2 : 4) * values.length, 64);
        for (int i = 0; i < values.length; i++) {
            if (bf16) s.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * i, CpuKvCache.toBf16(values[i]));
            else s.setAtIndex(ValueLayout.JAVA_FLOAT, i, values[i]);
        }
        return s;
    }

    /** softmax(q·Kᵀ·scale)·V over positions [0, ctx), in double: the textbook two passes. */
    static double[] twoPassSoftmax(float[] q, int qOff, float[] keys, float[] values, int kvOff, int kvDim, int ctx, int hd,
                                   float scale) {
        double[] s = new double[ctx];
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int j = 0; j < ctx; j++) {
            for (int i = 0; i < hd; i++) s[j] += (double) q[qOff + i] * keys[j * kvDim + kvOff + i];
            s[j] *= scale;
            max = Math.max(max, s[j]);
        }
        for (int j = 0; j < ctx; j++) sum += Math.exp(s[j] - max);
        double[] o = new double[hd];
        for (int i = 0; i < hd; i++) {
            for (int j = 0; j < ctx; j++) o[i] += Math.exp(s[j] - max) / sum * values[j * kvDim + kvOff + i];
        }
        return o;
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
            roundToBf16(keys);
            roundToBf16(values);
        }
        float scale = (float) (1 / Math.sqrt(hd));
        int[] ctxs = new int[count];
        for (int g = 0; g < count; g++) ctxs[g] = first + g + 1;
        float[] out = new float[count * qStride + 5], alone = new float[count * qStride + 5];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment k = cache(arena, keys, bf16), v = cache(arena, values, bf16);
            float[] scratch = CausalAttention.queryScratch(hd);
            CausalAttention.attendQueries(q, 3, qStride, count, ctxs, k, v, kvOff, kvDim, hd, scale, out, 5, scratch, bf16);
            for (int g = 0; g < count; g++) {
                CausalAttention.attendQueries(q, 3 + g * qStride, qStride, 1, new int[]{ctxs[g]}, k, v, kvOff, kvDim, hd, scale,
                        alone, 5 + g * qStride, scratch, bf16);
            }
        }
        assertThat(out).as("seed %d: each query alone", seed).containsExactly(alone);
        for (int g = 0; g < count; g++) {
            double[] expected = twoPassSoftmax(q, 3 + g * qStride, keys, values, kvOff, kvDim, ctxs[g], hd, scale);
            for (int i = 0; i < hd; i++) {
                assertThat((double) out[5 + g * qStride + i]).as("seed %d: query %d, dim %d", seed, g, i)
                        .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(2e-5));
            }
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
