package dev.cm3leon.cuda;

import dev.cm3leon.engine.cpu.CpuOps;

import java.util.Arrays;

/**
 * The CPU engine's causal attention (CpuEngine.attention, from the same CpuOps: dot, softmax, axpy) for rows that
 * each attend to their stream's cache [0, pos].
 */
final class AttentionReference {
    private AttentionReference() {
    }

    /**
     * @param q       [n, heads·D] rotated queries
     * @param keys    per stream [capacity · kvDim]
     * @param values  per stream [capacity · kvDim]
     * @return        [n, heads·D]
     */
    static float[] attend(float[] q, float[][] keys, float[][] values, int[] rowStream, int[] rowPos, int heads,
                          int kvHeads, int headDim) {
        int n = rowStream.length, qDim = heads * headDim, kvDim = kvHeads * headDim, group = heads / kvHeads;
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] att = new float[n * qDim];
        for (int r = 0; r < n; r++) {
            int ctx = rowPos[r] + 1;
            float[] kc = keys[rowStream[r]], vc = values[rowStream[r]];
            for (int h = 0; h < heads; h++) {
                float[] scores = new float[ctx];
                int qOff = r * qDim + h * headDim, kvOff = (h / group) * headDim;
                for (int j = 0; j < ctx; j++) scores[j] = CpuOps.dot(q, qOff, kc, j * kvDim + kvOff, headDim) * scale;
                CpuOps.softmax(scores, 0, ctx);
                Arrays.fill(att, qOff, qOff + headDim, 0f);
                for (int j = 0; j < ctx; j++) CpuOps.axpy(scores[j], vc, j * kvDim + kvOff, att, qOff, headDim);
            }
        }
        return att;
    }
}
