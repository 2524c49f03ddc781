package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;

/**
 * cos/sin of RoPE angles [positions, headDim/2], computed in float32 as HF does: inv_freq = 1 / θ^(2i/d), angle =
 * position · inv_freq. Public so that other backends upload the very same table.
 */
public final class RopeTable {
    public final float[] cos, sin;
    public final int half;

    public RopeTable(int positions, int headDim, double theta) {
        half = headDim / 2;
        if ((long) positions * half > Integer.MAX_VALUE - 8) {
            throw new Cm3LeonException("RoPE angles for " + positions + " positions of " + headDim + " dimensions do not fit a Java array");
        }
        cos = new float[positions * half];
        sin = new float[positions * half];
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            invFreq[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
        }
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
    }
}
