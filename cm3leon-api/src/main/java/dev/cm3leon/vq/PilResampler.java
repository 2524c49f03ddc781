package dev.cm3leon.vq;

/**
 * Pillow's resampling of 8-bit images, reproduced to the bit so that preprocessing matches the reference's pixel
 * values exactly.
 *
 * <p>The resize is separable: a horizontal pass, then a vertical one (each skipped when that side keeps its size).
 * For every output pixel the kernel is centred on the output pixel's centre mapped into the input, its support
 * stretched by the downscale factor (so shrinking averages rather than aliases); the weights are normalised to sum
 * to one, then turned into 22-bit fixed-point integers. Each pass accumulates {@code pixel × weight} in a 32-bit
 * integer starting from half a unit, and the result is clipped to 0–255 after dropping the 22 fraction bits: every
 * pass rounds to 8 bits, as Pillow's does.
 */
final class PilResampler {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    private PilResampler() {
    }

    /** Per output pixel: first input index, number of inputs, and their fixed-point weights (row of {@code ksize}). */
    private record Coefficients(int[] first, int[] count, int[] weights, int ksize) {
    }

    static RgbImage resize(RgbImage in, int outW, int outH, ResampleFilter filter) {
        if (outW < 1 || outH < 1) throw new IllegalArgumentException("resize to " + outW + "×" + outH);
        if (outW == in.width() && outH == in.height()) return in;
        if (filter == ResampleFilter.NEAREST) return nearest(in, outW, outH);
        RgbImage img = in;
        Coefficients vertical = coefficients(in.height(), outH, filter);
        if (outW != in.width()) {
            // Only the input rows the vertical pass will read.
            int firstRow = outH != in.height() ? vertical.first[0] : 0;
            int lastRow = outH != in.height() ? vertical.first[outH - 1] + vertical.count[outH - 1] : in.height();
            img = horizontal(in, firstRow, lastRow, coefficients(in.width(), outW, filter));
            if (outH != in.height()) {
                for (int i = 0; i < outH; i++) vertical.first[i] -= firstRow;
            }
        }
        if (outH != in.height()) img = vertical(img, outH, vertical);
        return img;
    }

    private static Coefficients coefficients(int inSize, int outSize, ResampleFilter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(1.0, scale);
        double support = filter.support() * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] first = new int[outSize], count = new int[outSize];
        int[] weights = new int[Math.multiplyExact(outSize, ksize)];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double inv = 1.0 / filterScale;
            int xmin = Math.max(0, (int) (center - support + 0.5));
            int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
            double sum = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = filter.weight((x + xmin - center + 0.5) * inv);
                k[x] = w;
                sum += w;
            }
            for (int x = 0; x < xmax; x++) {
                double w = sum != 0.0 ? k[x] / sum : k[x];
                // Round half away from zero into fixed point, as Pillow's normalize_coeffs_8bpc does.
                weights[xx * ksize + x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
            }
            first[xx] = xmin;
            count[xx] = Math.max(0, xmax);
        }
        return new Coefficients(first, count, weights, ksize);
    }

    private static byte clip8(int acc) {
        int v = acc >> PRECISION_BITS;
        return (byte) (v < 0 ? 0 : Math.min(v, 255));
    }

    /** Rows [firstRow, lastRow) of {@code in}, each resampled to the output width. */
    private static RgbImage horizontal(RgbImage in, int firstRow, int lastRow, Coefficients c) {
        int outW = c.first.length, inW = in.width();
        byte[] src = in.rgb(), dst = new byte[Math.multiplyExact(outW * 3, lastRow - firstRow)];
        for (int y = firstRow; y < lastRow; y++) {
            int srcRow = y * inW * 3, dstRow = (y - firstRow) * outW * 3;
            for (int xx = 0; xx < outW; xx++) {
                int kOff = xx * c.ksize, x0 = c.first[xx];
                int r = 1 << (PRECISION_BITS - 1), g = r, b = r;
                for (int x = 0; x < c.count[xx]; x++) {
                    int w = c.weights[kOff + x], p = srcRow + (x0 + x) * 3;
                    r += (src[p] & 0xFF) * w;
                    g += (src[p + 1] & 0xFF) * w;
                    b += (src[p + 2] & 0xFF) * w;
                }
                int o = dstRow + xx * 3;
                dst[o] = clip8(r);
                dst[o + 1] = clip8(g);
                dst[o + 2] = clip8(b);
            }
        }
        return new RgbImage(outW, lastRow - firstRow, dst);
    }

    private static RgbImage vertical(RgbImage in, int outH, Coefficients c) {
        int w = in.width();
        byte[] src = in.rgb(), dst = new byte[Math.multiplyExact(w * 3, outH)];
        for (int yy = 0; yy < outH; yy++) {
            int kOff = yy * c.ksize, y0 = c.first[yy];
            for (int x = 0; x < w * 3; x++) {
                int acc = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < c.count[yy]; y++) acc += (src[(y0 + y) * w * 3 + x] & 0xFF) * c.weights[kOff + y];
                dst[yy * w * 3 + x] = clip8(acc);
            }
        }
        return new RgbImage(w, outH, dst);
    }

    /** Pillow's nearest-neighbour resize: source coordinate ⌊(i + ½)·scale⌋, the step accumulated as Pillow does. */
    private static RgbImage nearest(RgbImage in, int outW, int outH) {
        int[] xs = nearestIndices(in.width(), outW), ys = nearestIndices(in.height(), outH);
        byte[] src = in.rgb(), dst = new byte[Math.multiplyExact(outW * 3, outH)];
        for (int y = 0; y < outH; y++) {
            for (int x = 0; x < outW; x++) {
                System.arraycopy(src, (ys[y] * in.width() + xs[x]) * 3, dst, (y * outW + x) * 3, 3);
            }
        }
        return new RgbImage(outW, outH, dst);
    }

    private static int[] nearestIndices(int inSize, int outSize) {
        double step = (double) inSize / outSize, at = step * 0.5;
        int[] idx = new int[outSize];
        for (int i = 0; i < outSize; i++, at += step) idx[i] = Math.min(inSize - 1, Math.max(0, (int) at));
        return idx;
    }
}
