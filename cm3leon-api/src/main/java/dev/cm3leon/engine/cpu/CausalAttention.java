package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Causal attention of one query against the cached keys and values of its stream, with an online softmax: keys are
 * visited in blocks of {@link #BLOCK}, the running maximum and sum rescale what was accumulated so far. Memory is one
 * block of scores per call, whatever the context length, so a long prefill needs no [T, T] matrix.
 */
final class CausalAttention {
    static final int BLOCK = 64;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private CausalAttention() {
    }

    /**
     * {@code out[outOff, +hd) = softmax(q·Kᵀ·scale) · V} over positions {@code [0, ctx)}, where position j's key is
     * the f32s {@code [j·kvDim + kvOff, +hd)} of {@code keys} (likewise values). {@code scores} holds at least
     * {@link #BLOCK} floats. With {@code bf16}, keys and values are bf16 (two bytes each), widened as they are read.
     */
    static void attend(float[] q, int qOff, MemorySegment keys, MemorySegment values, int kvOff, int kvDim, int ctx,
                       int hd, float scale, float[] out, int outOff, float[] scores) {
        attend(q, qOff, keys, values, kvOff, kvDim, ctx, hd, scale, out, outOff, scores, false);
    }

    static void attend(float[] q, int qOff, MemorySegment keys, MemorySegment values, int kvOff, int kvDim, int ctx,
                       int hd, float scale, float[] out, int outOff, float[] scores, boolean bf16) {
        int es = bf16 ? 2 : Float.BYTES;
        Arrays.fill(out, outOff, outOff + hd, 0f);
        float max = Float.NEGATIVE_INFINITY, sum = 0f;
        for (int j0 = 0; j0 < ctx; j0 += BLOCK) {
            int len = Math.min(BLOCK, ctx - j0);
            float blockMax = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) {
                long at = ((long) (j0 + j) * kvDim + kvOff) * es;
                float s = (bf16 ? dotBf16(q, qOff, keys, at, hd) : dot(q, qOff, keys, at, hd)) * scale;
                scores[j] = s;
                blockMax = Math.max(blockMax, s);
            }
            if (blockMax > max) {
                // A larger maximum: what was summed so far was exponentiated against the old one.
                float rescale = (float) Math.exp(max - blockMax);
                sum *= rescale;
                if (max != Float.NEGATIVE_INFINITY) CpuOps.scale(out, outOff, hd, rescale);
                max = blockMax;
            }
            for (int j = 0; j < len; j++) {
                float p = (float) Math.exp(scores[j] - max);
                sum += p;
                long at = ((long) (j0 + j) * kvDim + kvOff) * es;
                if (bf16) axpyBf16(p, values, at, out, outOff, hd);
                else axpy(p, values, at, out, outOff, hd);
            }
        }
        CpuOps.scale(out, outOff, hd, 1f / sum);
    }

    /** Queries of one prompt that {@link #attendQueries} takes at once (their keys are transposed once for all). */
    static final int QUERY_BLOCK = 32;

    /**
     * {@link #attend} for {@code count} queries of one stream's prompt and one head, query g at {@code q[qOff + g·qStride]}
     * attending to positions [0, ctx[g]), its output at {@code out[outOff + g·qStride]}. Keys are read in blocks of one
     * vector's width, transposed once for all the queries ([hd, L]), so each query's scores for a block are hd FMAs
     * with no lane reduction per key; the online softmax then runs per block. A query's result depends only on its
     * own q and context, not on the queries beside it. {@code scratch} from {@link #queryScratch}.
     */
    static void attendQueries(float[] q, int qOff, int qStride, int count, int[] ctx, MemorySegment keys,
                              MemorySegment values, int kvOff, int kvDim, int hd, float scale, float[] out, int outOff,
                              float[] scratch, boolean bf16) {
        int es = bf16 ? 2 : Float.BYTES;
        float[] kt = scratch;                                   // [hd][L], then max [count], sum [count], p [L]
        int maxAt = hd * L, sumAt = maxAt + count, pAt = sumAt + count;
        int longest = 0;
        for (int g = 0; g < count; g++) {
            longest = Math.max(longest, ctx[g]);
            Arrays.fill(out, outOff + g * qStride, outOff + g * qStride + hd, 0f);
            scratch[maxAt + g] = Float.NEGATIVE_INFINITY;
            scratch[sumAt + g] = 0f;
        }
        for (int j0 = 0; j0 < longest; j0 += L) {
            int len = Math.min(L, longest - j0);
            for (int jj = 0; jj < L; jj++) {
                long at = ((long) (j0 + jj) * kvDim + kvOff) * es;
                for (int dd = 0; dd < hd; dd++) {
                    kt[dd * L + jj] = jj >= len ? 0f
                            : bf16 ? bf16At(keys, at + 2L * dd) : keys.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 4L * dd);
                }
            }
            for (int g = 0; g < count; g++) {
                int valid = Math.min(len, ctx[g] - j0), qo = qOff + g * qStride, oo = outOff + g * qStride;
                if (valid <= 0) continue;
                FloatVector acc = FloatVector.zero(F);
                for (int dd = 0; dd < hd; dd++) acc = FloatVector.broadcast(F, q[qo + dd]).fma(FloatVector.fromArray(F, kt, dd * L), acc);
                acc.mul(scale).intoArray(scratch, pAt);
                float blockMax = Float.NEGATIVE_INFINITY;
                for (int jj = 0; jj < valid; jj++) blockMax = Math.max(blockMax, scratch[pAt + jj]);
                float max = scratch[maxAt + g];
                if (blockMax > max) {
                    // A larger maximum: what was summed so far was exponentiated against the old one.
                    float rescale = (float) Math.exp(max - blockMax);
                    scratch[sumAt + g] *= rescale;
                    if (max != Float.NEGATIVE_INFINITY) CpuOps.scale(out, oo, hd, rescale);
                    max = blockMax;
                    scratch[maxAt + g] = max;
                }
                for (int jj = 0; jj < valid; jj++) {
                    float p = (float) Math.exp(scratch[pAt + jj] - max);
                    scratch[sumAt + g] += p;
                    long at = ((long) (j0 + jj) * kvDim + kvOff) * es;
                    if (bf16) axpyBf16(p, values, at, out, oo, hd);
                    else axpy(p, values, at, out, oo, hd);
                }
            }
        }
        for (int g = 0; g < count; g++) CpuOps.scale(out, outOff + g * qStride, hd, 1f / scratch[sumAt + g]);
    }

    /** Scratch for {@link #attendQueries} of up to {@link #QUERY_BLOCK} queries. */
    static float[] queryScratch(int hd) {
        return new float[hd * L + 2 * QUERY_BLOCK + L];
    }

    /** Σ q[qOff+i] · s[at + 4i] for i &lt; n. */
    static float dot(float[] q, int qOff, MemorySegment s, long at, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            acc = FloatVector.fromArray(F, q, qOff + i).fma(FloatVector.fromMemorySegment(F, s, at + 4L * i, ByteOrder.nativeOrder()), acc);
        }
        float sum = CpuOps.sumLanes(acc);
        for (; i < n; i++) sum += q[qOff + i] * s.get(ValueLayout.JAVA_FLOAT, at + 4L * i);
        return sum;
    }

    /** y[yOff+i] += a · s[at + 4i] for i &lt; n. */
    static void axpy(float a, MemorySegment s, long at, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            FloatVector.fromMemorySegment(F, s, at + 4L * i, ByteOrder.nativeOrder()).fma(av, FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * s.get(ValueLayout.JAVA_FLOAT, at + 4L * i);
    }

    /** L bf16 values from byte offset {@code at}, widened to f32. */
    private static FloatVector bf16(MemorySegment s, long at) {
        ShortVector v = ShortVector.fromMemorySegment(S, s, at, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) v.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float bf16At(MemorySegment s, long at) {
        return Float.intBitsToFloat((s.get(ValueLayout.JAVA_SHORT_UNALIGNED, at) & 0xFFFF) << 16);
    }

    /** Σ q[qOff+i] · bf16 s[at + 2i] for i &lt; n. */
    static float dotBf16(float[] q, int qOff, MemorySegment s, long at, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) acc = FloatVector.fromArray(F, q, qOff + i).fma(bf16(s, at + 2L * i), acc);
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += q[qOff + i] * bf16At(s, at + 2L * i);
        return sum;
    }

    /** y[yOff+i] += a · bf16 s[at + 2i] for i &lt; n. */
    static void axpyBf16(float a, MemorySegment s, long at, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            bf16(s, at + 2L * i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * bf16At(s, at + 2L * i);
    }
}
