package dev.cm3leon.vq;

/**
 * The resampling filters of Pillow's {@code Image.resize}, by the codes image-processor configs use for
 * {@code resample} (PIL's numbering). Each one is a kernel with a support radius; the kernel is stretched by the
 * downscale factor when shrinking.
 */
public enum ResampleFilter {
    NEAREST(0, 0.0),
    LANCZOS(1, 3.0),
    BILINEAR(2, 1.0),
    BICUBIC(3, 2.0),
    BOX(4, 0.5),
    HAMMING(5, 1.0);

    private final int pilCode;
    private final double support;

    ResampleFilter(int pilCode, double support) {
        this.pilCode = pilCode;
        this.support = support;
    }

    public int pilCode() {
        return pilCode;
    }

    double support() {
        return support;
    }

    public static ResampleFilter ofPilCode(int code) {
        for (ResampleFilter f : values()) if (f.pilCode == code) return f;
        throw new IllegalArgumentException("unknown PIL resampling filter " + code + " (0–5)");
    }

    /** The kernel at {@code x} (in input pixels, after the downscale stretch). */
    double weight(double x) {
        return switch (this) {
            case NEAREST -> throw new IllegalStateException("nearest has no kernel");
            case BOX -> x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
            case BILINEAR -> Math.abs(x) < 1.0 ? 1.0 - Math.abs(x) : 0.0;
            case HAMMING -> {
                double a = Math.abs(x);
                if (a == 0.0) yield 1.0;
                if (a >= 1.0) yield 0.0;
                double p = a * Math.PI;
                // PIL writes the window's constants as float literals; keep them float for the same coefficients.
                yield StrictMath.sin(p) / p * (0.54f + 0.46f * StrictMath.cos(p));
            }
            case BICUBIC -> {
                double a = Math.abs(x), c = -0.5;
                if (a < 1.0) yield ((c + 2.0) * a - (c + 3.0)) * a * a + 1;
                if (a < 2.0) yield (((a - 5) * a + 8) * a - 4) * c;
                yield 0.0;
            }
            case LANCZOS -> -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0;
        };
    }

    private static double sinc(double x) {
        if (x == 0.0) return 1.0;
        double p = x * Math.PI;
        return StrictMath.sin(p) / p;
    }
}
