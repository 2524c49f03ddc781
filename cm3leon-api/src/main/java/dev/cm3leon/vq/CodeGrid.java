package dev.cm3leon.vq;

import java.util.Arrays;

/**
 * Codebook indices of an image, row-major over a {@code height × width} grid (the VQ-GAN's latent grid: 32×32 for a
 * 512-pixel Chameleon image).
 */
public record CodeGrid(int height, int width, int[] codes) {
    public CodeGrid {
        if (height < 1 || width < 1) throw new VqException("a code grid needs positive sizes, got " + height + "×" + width);
        if ((long) height * width != codes.length) {
            throw new VqException("a " + height + "×" + width + " grid needs " + (long) height * width + " codes, got " + codes.length);
        }
        codes = codes.clone();
    }

    @Override
    public int[] codes() {
        return codes.clone();
    }

    public int size() {
        return codes.length;
    }

    int code(int i) {
        return codes[i];
    }

    /** A square grid; the number of codes must be a perfect square. */
    public static CodeGrid square(int[] codes) {
        int side = (int) Math.round(Math.sqrt(codes.length));
        if (codes.length == 0 || side * side != codes.length) {
            throw new VqException(codes.length + " codes do not form a square grid; give the grid's height and width");
        }
        return new CodeGrid(side, side, codes);
    }

    /**
     * An incomplete image as Meta's decoder fills it: the missing codes at the end are copies of the <em>first</em>
     * code. Used when generation stopped before the image was complete.
     */
    public static CodeGrid padded(int[] partial, int height, int width) {
        int n = height * width;
        if (partial.length == 0) throw new VqException("an image needs at least one code");
        if (partial.length > n) throw new VqException(partial.length + " codes do not fit a " + height + "×" + width + " grid");
        int[] codes = Arrays.copyOf(partial, n);
        Arrays.fill(codes, partial.length, n, partial[0]);
        return new CodeGrid(height, width, codes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodeGrid g && height == g.height && width == g.width && Arrays.equals(codes, g.codes);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * height + width) + Arrays.hashCode(codes);
    }

    @Override
    public String toString() {
        return "CodeGrid[" + height + "×" + width + "]";
    }
}
