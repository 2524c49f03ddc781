package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;

/**
 * cos/sin of RoPE angles [positions, headDim/2], computed in float32 as HF does: inv_freq = 1 / θ^(2i/d), angle =
 * position · inv_freq. Grown on demand up to the context: a config may declare millions of positions, and a table
 * for all of them up front would take gigabytes no request uses.
 */
final class RopeTable {
    private static final int INITIAL_POSITIONS = 4096;

    /** cos and sin for the first {@code length / half} positions, [positions, half] each. */
    record Angles(float[] cos, float[] sin) {
    }

    final int half;
    private final int maxPositions;
    private final float[] invFreq;
    private volatile Angles angles;

    RopeTable(int maxPositions, int headDim, double theta) {
        this.half = headDim / 2;
        this.maxPositions = maxPositions;
        this.invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            invFreq[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
        }
        this.angles = compute(Math.min(maxPositions, INITIAL_POSITIONS));
    }

    /** Angles covering at least positions {@code [0, positions)}. */
    Angles upTo(int positions) {
        Angles a = angles;
        if ((long) positions * half <= a.cos().length) return a;
        synchronized (this) {
            a = angles;
            if ((long) positions * half > a.cos().length) {
                long doubled = Math.max(positions, 2L * a.cos().length / Math.max(1, half));
                a = compute((int) Math.min(maxPositions, doubled));
                angles = a;
            }
            return a;
        }
    }

    private Angles compute(int positions) {
        long entries = (long) positions * half;
        if (entries > Integer.MAX_VALUE - 8) {
            throw new Cm3LeonException("RoPE angles for " + positions + " positions do not fit a Java array");
        }
        float[] cos = new float[(int) entries], sin = new float[(int) entries];
        for (int p = 0; p < positions; p++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) p * invFreq[i];
                cos[p * half + i] = (float) Math.cos(angle);
                sin[p * half + i] = (float) Math.sin(angle);
            }
        }
        return new Angles(cos, sin);
    }
}
