package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Objects;

/**
 * PyTorch's {@code GroupNorm} (affine) over a feature map [C, H·W]: the channels are split into groups, each group is
 * normalised by its own mean and biased variance over its channels and positions, then scaled and shifted per
 * channel. Statistics are summed in float lanes per block and in float64 across blocks, in an order fixed by the code
 * (not by the JIT); the swish uses {@link VectorExp}, whose bits do not depend on the JIT either.
 */
public final class GroupNorm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** Values per float-lane partial sum: short enough that float lanes lose nothing a test could see. */
    private static final int BLOCK = 1024;
    private final String name;
    private final int channels, groups;
    private final double eps;
    private final float[] weight, bias;

    public GroupNorm(String name, int channels, int groups, double eps, float[] weight, float[] bias) {
        this.name = Objects.requireNonNull(name);
        if (groups < 1 || channels % groups != 0) {
            throw new IllegalArgumentException(name + ": " + groups + " groups do not divide " + channels + " channels");
        }
        if (weight.length != channels || bias.length != channels) {
            throw new IllegalArgumentException(name + ": weight and bias must have " + channels + " values");
        }
        this.channels = channels;
        this.groups = groups;
        this.eps = eps;
        this.weight = weight.clone();
        this.bias = bias.clone();
    }

    public int channels() {
        return channels;
    }

    /** x: [C, positions] → a new [C, positions]; followed by swish {@code y·sigmoid(y)} when {@code swish}. */
    public float[] apply(float[] x, int positions, boolean swish) {
        float[][] affine = affine(x, positions);
        float[] out = new float[x.length];
        Parallel.forRange(channels, Math.max(1, 8192 / Math.max(1, positions)), (c0, c1) -> {
            for (int c = c0; c < c1; c++) transform(x, c * positions, positions, affine[0][c], affine[1][c], swish, out, c * positions);
        });
        return out;
    }

    /**
     * Per channel, the {@code scale} and {@code shift} that normalise x: [C, positions] by its group's mean and biased
     * variance and apply the affine weights ({@code y = x·scale + shift}, as PyTorch folds them). Returns
     * {@code [scale[C], shift[C]]}.
     */
    public float[][] affine(float[] x, int positions) {
        if ((long) channels * positions != x.length) {
            throw new IllegalArgumentException(name + ": input of " + x.length + " values is not [" + channels + ", "
                    + positions + "]");
        }
        float[] scale = new float[channels], shift = new float[channels];
        int perGroup = channels / groups;
        Parallel.forRange(groups, Math.max(1, 8192 / Math.max(1, perGroup * positions)), (g0, g1) -> {
            for (int g = g0; g < g1; g++) {
                int c0 = g * perGroup, from = c0 * positions, to = (c0 + perGroup) * positions, n = to - from;
                double mean = sum(x, from, to, false, 0f) / n;
                double rstd = 1.0 / Math.sqrt(sum(x, from, to, true, (float) mean) / n + eps);
                for (int c = c0; c < c0 + perGroup; c++) {
                    scale[c] = (float) (rstd * weight[c]);
                    shift[c] = (float) (bias[c] - mean * rstd * weight[c]);
                }
            }
        });
        return new float[][]{scale, shift};
    }

    /** dst[dOff + i] = x[xOff + i]·scale + shift, then its swish when {@code swish}, for i &lt; n. */
    static void transform(float[] x, int xOff, int n, float scale, float shift, boolean swish, float[] dst, int dOff) {
        FloatVector vs = FloatVector.broadcast(F, scale), vt = FloatVector.broadcast(F, shift);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector y = FloatVector.fromArray(F, x, xOff + i).fma(vs, vt);
            (swish ? swish(y) : y).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) {
            float y = Math.fma(x[xOff + i], scale, shift);
            dst[dOff + i] = swish ? swish(y) : y;
        }
    }

    /**
     * Σ x[i] over [from, to), or Σ (x[i] − center)² when {@code squares}: float lanes over blocks of
     * {@value #BLOCK} values, each block's lanes added in double in a fixed order, so the sum does not depend on how
     * the JIT compiled the loop.
     */
    private static double sum(float[] x, int from, int to, boolean squares, float center) {
        double total = 0;
        float[] lanes = new float[L];
        FloatVector c = FloatVector.broadcast(F, center);
        for (int b = from; b < to; b += BLOCK) {
            int end = Math.min(to, b + BLOCK), i = b;
            FloatVector acc = FloatVector.zero(F);
            for (; i <= end - L; i += L) {
                FloatVector v = FloatVector.fromArray(F, x, i);
                acc = squares ? v.sub(c).fma(v.sub(c), acc) : acc.add(v);
            }
            acc.intoArray(lanes, 0);
            for (float f : lanes) total += f;
            for (; i < end; i++) {
                double d = x[i] - (double) center;
                total += squares ? d * d : x[i];
            }
        }
        return total;
    }

    /** {@code y · sigmoid(y)}, the VQ-GAN's nonlinearity. */
    public static float swish(float y) {
        return y / (1f + VectorExp.exp(-y));
    }

    static FloatVector swish(FloatVector y) {
        return y.div(VectorExp.exp(y.neg()).add(1f));
    }
}
