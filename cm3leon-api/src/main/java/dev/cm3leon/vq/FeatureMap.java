package dev.cm3leon.vq;

import java.util.Objects;

/**
 * A float32 tensor [channels, height, width], row-major: pixel values going into the VQ encoder, activations inside
 * it, the decoder's image. The array is shared, not copied.
 */
public record FeatureMap(int channels, int height, int width, float[] data) {
    public FeatureMap {
        Objects.requireNonNull(data, "data");
        if (channels < 1 || height < 1 || width < 1) {
            throw new VqException("a feature map needs positive sizes, got [" + channels + ", " + height + ", " + width + "]");
        }
        if ((long) channels * height * width != data.length) {
            throw new VqException("a [" + channels + ", " + height + ", " + width + "] feature map needs "
                    + (long) channels * height * width + " values, got " + data.length);
        }
    }

    public int positions() {
        return height * width;
    }

    public float get(int c, int y, int x) {
        return data[(c * height + y) * width + x];
    }

    @Override
    public String toString() {
        return "FeatureMap[" + channels + ", " + height + ", " + width + "]";
    }
}
