package dev.cm3leon.engine.cpu;

import java.util.Objects;

/**
 * PyTorch's {@code GroupNorm} (affine) over a feature map [C, H·W]: the channels are split into groups, each group is
 * normalised by its own mean and biased variance over its channels and positions, then scaled and shifted per
 * channel. Statistics are accumulated in float64 so the result does not depend on the summation order.
 */
public final class GroupNorm {
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
        if ((long) channels * positions != x.length) {
            throw new IllegalArgumentException(name + ": input of " + x.length + " values is not [" + channels + ", "
                    + positions + "]");
        }
        float[] out = new float[x.length];
        int perGroup = channels / groups;
        Parallel.forRange(groups, Math.max(1, 8192 / Math.max(1, perGroup * positions)), (g0, g1) -> {
            for (int g = g0; g < g1; g++) normalizeGroup(x, g * perGroup, perGroup, positions, swish, out);
        });
        return out;
    }

    private void normalizeGroup(float[] x, int c0, int count, int positions, boolean swish, float[] out) {
        int from = c0 * positions, to = (c0 + count) * positions;
        double sum = 0;
        for (int i = from; i < to; i++) sum += x[i];
        double mean = sum / (to - from);
        double sq = 0;
        for (int i = from; i < to; i++) {
            double d = x[i] - mean;
            sq += d * d;
        }
        double rstd = 1.0 / Math.sqrt(sq / (to - from) + eps);
        for (int c = c0; c < c0 + count; c++) {
            // y = x·scale + shift, as PyTorch folds the affine transform into the normalisation.
            float scale = (float) (rstd * weight[c]);
            float shift = (float) (bias[c] - mean * rstd * weight[c]);
            int off = c * positions;
            for (int i = 0; i < positions; i++) {
                float y = x[off + i] * scale + shift;
                out[off + i] = swish ? swish(y) : y;
            }
        }
    }

    /** {@code y · sigmoid(y)}, the VQ-GAN's nonlinearity. */
    public static float swish(float y) {
        return y / (1f + (float) Math.exp(-y));
    }
}
