package dev.cm3leon.engine.cpu;

/**
 * cos/sin of RoPE angles [positions, headDim/2], computed in float32 as HF does: inv_freq = 1 / θ^(2i/d), angle =
 * position · inv_freq. Grown on demand up to the context: a config may declare millions of positions, and a table
 * for all of them up front would take gigabytes no request uses. Public so that other backends use the very same
 * values.
 */
public final class RopeTable {
    private static final int INITIAL_POSITIONS = 8192;

    /** cos and sin for the first {@code cos.length / half} positions, [positions, half] each. */
    public record Angles(float[] cos, float[] sin) {
    }

    public final int half;
    private final int maxPositions;
    private final float[] invFreq;
    private volatile Angles angles;

    public RopeTable(int maxPositions, int headDim, double theta) {
        this.half = headDim / 2;
        this.maxPositions = maxPositions;
        this.invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            invFreq[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
        }
        this.angles = compute(Math.min(maxPositions, INITIAL_POSITIONS));
    }

    /** The table as it stands (at least the first min(context, 8192) positions). */
    public Angles angles() {
        return angles;
    }

    /** A table covering positions [0, positions); grows (doubling, capped at the context) when needed. */
    public Angles upTo(int positions) {
        Angles a = angles;
        if ((long) positions * half <= a.cos().length) return a;
        synchronized (this) {
            a = angles;
            if ((long) positions * half <= a.cos().length) return a;
            int current = a.cos().length / Math.max(1, half);
            int target = (int) Math.min(maxPositions, Math.max((long) positions, 2L * current));
            angles = a = compute(target);
            return a;
        }
    }

    private Angles compute(int positions) {
        float[] cos = new float[positions * half], sin = new float[positions * half];
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
