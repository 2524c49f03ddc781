package dev.cm3leon.retrieval;

/**
 * Image resizing that reproduces Pillow's {@code Image.resize} on 8-bit images bit for bit: a separable convolution,
 * horizontal pass then vertical, the intermediate rounded to 8 bits. Coefficients are computed in double, normalised
 * per output pixel, then turned into 22-bit fixed point; sums start at ½ and are shifted and clamped to 0..255.
 * Downscaling widens the filter by the scale factor (antialiasing), as Pillow does.
 */
final class PilResampler {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Pillow's resampling filters, by their {@code resample} code. */
    enum Filter {
        LANCZOS(1, 3.0), BILINEAR(2, 1.0), BICUBIC(3, 2.0), BOX(4, 0.5), HAMMING(5, 1.0);

        final int code;
        final double support;

        Filter(int code, double support) {
            this.code = code;
            this.support = support;
        }

        static Filter ofCode(int code) {
            for (Filter f : values()) if (f.code == code) return f;
            throw new IllegalArgumentException("resample=" + code + " is not supported (1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)");
        }

        double weight(double x) {
            return switch (this) {
                case BOX -> x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
                case BILINEAR -> {
                    double a = Math.abs(x);
                    yield a < 1.0 ? 1.0 - a : 0.0;
                }
                case HAMMING -> {
                    double a = Math.abs(x);
                    if (a == 0.0) yield 1.0;
                    if (a >= 1.0) yield 0.0;
                    a *= Math.PI;
                    yield Math.sin(a) / a * (0.54f + 0.46f * Math.cos(a));   // Pillow's constants are floats
                }
                case BICUBIC -> {
                    final double a = -0.5;                               // Keys' cubic, as Pillow
                    double t = Math.abs(x);
                    if (t < 1.0) yield ((a + 2.0) * t - (a + 3.0)) * t * t + 1;
                    if (t < 2.0) yield (((t - 5) * t + 8) * t - 4) * a;
                    yield 0.0;
                }
                case LANCZOS -> -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
            };
        }

        private static double sinc(double x) {
            if (x == 0.0) return 1.0;
            x *= Math.PI;
            return Math.sin(x) / x;
        }
    }

    /** Per output pixel: the first input index, the tap count, and the fixed-point weights (ksize per pixel). */
    private record Coefficients(int[] start, int[] count, int[] weights, int ksize) {
    }

    private PilResampler() {
    }

    /** Resizes to {@code outW × outH}; Pillow returns a copy when the size is unchanged, and so does this. */
    static RgbImage resize(RgbImage in, int outW, int outH, Filter filter) {
        if (outW < 1 || outH < 1) throw new IllegalArgumentException("cannot resize to " + outW + "×" + outH);
        RgbImage img = in;
        if (outW != img.width()) img = horizontal(img, outW, coefficients(img.width(), outW, filter));
        if (outH != img.height()) img = vertical(img, outH, coefficients(img.height(), outH, filter));
        return img == in ? new RgbImage(in.width(), in.height(), in.pixels().clone()) : img;
    }

    private static Coefficients coefficients(int inSize, int outSize, Filter filter) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(1.0, scale);
        double support = filter.support * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[outSize], count = new int[outSize], weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.max(0, (int) (center - support + 0.5));   // C casts truncate toward zero
            int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                k[x] = filter.weight((x + xmin - center + 0.5) * ss);
                ww += k[x];
            }
            for (int x = 0; x < xmax; x++) {
                double w = ww != 0.0 ? k[x] / ww : k[x];
                weights[xx * ksize + x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
            }
            start[xx] = xmin;
            count[xx] = Math.max(0, xmax);
        }
        return new Coefficients(start, count, weights, ksize);
    }

    private static RgbImage horizontal(RgbImage in, int outW, Coefficients c) {
        int h = in.height(), inW = in.width();
        byte[] src = in.pixels(), dst = new byte[outW * h * 3];
        for (int y = 0; y < h; y++) {
            for (int xx = 0; xx < outW; xx++) {
                int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                int kOff = xx * c.ksize(), base = (y * inW + c.start()[xx]) * 3;
                for (int x = 0; x < c.count()[xx]; x++) {
                    int w = c.weights()[kOff + x], p = base + x * 3;
                    s0 += (src[p] & 0xFF) * w;
                    s1 += (src[p + 1] & 0xFF) * w;
                    s2 += (src[p + 2] & 0xFF) * w;
                }
                int o = (y * outW + xx) * 3;
                dst[o] = clip8(s0);
                dst[o + 1] = clip8(s1);
                dst[o + 2] = clip8(s2);
            }
        }
        return new RgbImage(outW, h, dst);
    }

    private static RgbImage vertical(RgbImage in, int outH, Coefficients c) {
        int w = in.width();
        byte[] src = in.pixels(), dst = new byte[w * outH * 3];
        for (int yy = 0; yy < outH; yy++) {
            int kOff = yy * c.ksize(), y0 = c.start()[yy];
            for (int x = 0; x < w; x++) {
                int s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int y = 0; y < c.count()[yy]; y++) {
                    int k = c.weights()[kOff + y], p = ((y0 + y) * w + x) * 3;
                    s0 += (src[p] & 0xFF) * k;
                    s1 += (src[p + 1] & 0xFF) * k;
                    s2 += (src[p + 2] & 0xFF) * k;
                }
                int o = (yy * w + x) * 3;
                dst[o] = clip8(s0);
                dst[o + 1] = clip8(s1);
                dst[o + 2] = clip8(s2);
            }
        }
        return new RgbImage(w, outH, dst);
    }

    private static byte clip8(int v) {
        return (byte) Math.clamp(v >> PRECISION_BITS, 0, 255);
    }
}
