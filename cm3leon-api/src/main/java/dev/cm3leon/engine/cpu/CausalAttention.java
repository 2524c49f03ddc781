package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
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

    private CausalAttention() {
    }

    /**
     * {@code out[outOff, +hd) = softmax(q·Kᵀ·scale) · V} over positions {@code [0, ctx)}, where position j's key is
     * the f32s {@code [j·kvDim + kvOff, +hd)} of {@code keys} (likewise values). {@code scores} holds at least
     * {@link #BLOCK} floats.
     */
    static void attend(float[] q, int qOff, MemorySegment keys, MemorySegment values, int kvOff, int kvDim, int ctx,
                       int hd, float scale, float[] out, int outOff, float[] scores) {
        Arrays.fill(out, outOff, outOff + hd, 0f);
        float max = Float.NEGATIVE_INFINITY, sum = 0f;
        for (int j0 = 0; j0 < ctx; j0 += BLOCK) {
            int len = Math.min(BLOCK, ctx - j0);
            float blockMax = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) {
                float s = dot(q, qOff, keys, ((long) (j0 + j) * kvDim + kvOff) * Float.BYTES, hd) * scale;
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
                axpy(p, values, ((long) (j0 + j) * kvDim + kvOff) * Float.BYTES, out, outOff, hd);
            }
        }
        CpuOps.scale(out, outOff, hd, 1f / sum);
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
}
