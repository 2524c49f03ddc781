package dev.cm3leon.engine.cpu;

import java.util.Arrays;

/**
 * Causal attention of one query against the cached keys and values of its stream, with an online softmax: keys are
 * visited in blocks of {@link #BLOCK}, the running maximum and sum rescale what was accumulated so far. Memory is one
 * block of scores per call, whatever the context length, so a long prefill needs no [T, T] matrix.
 */
final class CausalAttention {
    static final int BLOCK = 64;

    private CausalAttention() {
    }

    /**
     * {@code out[outOff, +hd) = softmax(q·Kᵀ·scale) · V} over positions {@code [0, ctx)}, where position j's key is
     * {@code keys[j·kvDim + kvOff, +hd)} (likewise values). {@code scores} holds at least {@link #BLOCK} floats.
     */
    static void attend(float[] q, int qOff, float[] keys, float[] values, int kvOff, int kvDim, int ctx, int hd,
                       float scale, float[] out, int outOff, float[] scores) {
        Arrays.fill(out, outOff, outOff + hd, 0f);
        float max = Float.NEGATIVE_INFINITY, sum = 0f;
        for (int j0 = 0; j0 < ctx; j0 += BLOCK) {
            int len = Math.min(BLOCK, ctx - j0);
            float blockMax = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) {
                float s = CpuOps.dot(q, qOff, keys, (j0 + j) * kvDim + kvOff, hd) * scale;
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
                CpuOps.axpy(p, values, (j0 + j) * kvDim + kvOff, out, outOff, hd);
            }
        }
        CpuOps.scale(out, outOff, hd, 1f / sum);
    }
}
