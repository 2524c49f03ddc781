package dev.cm3leon.decode;

import java.util.Arrays;

/**
 * Where an image's tokens sit in a sequence, as data. Chameleon and Anole: begin-of-image, the grid's codes row by
 * row, end-of-image. Lumina-mGPT: begin-of-image, a height and a width token stating the grid in size units, each row
 * of codes followed by a row-separator token, end-of-image. Both are instances; a checkpoint folder may describe its
 * own in {@code cm3leon-templates.json}.
 *
 * @param beginOfImage     the token that opens an image
 * @param endOfImage       the token that closes it
 * @param firstSizeToken   the size token for 0 units (n units is {@code firstSizeToken + n}); −1 when images carry no
 *                         size tokens, and their grid is always {@link #defaultGrid}
 * @param maxSizeUnits     the largest size a size token states
 * @param codesPerSizeUnit codes per size unit along a side (Lumina: 32-pixel units of two 16-pixel codes)
 * @param rowSeparator     the token after each row of codes; −1 for none
 * @param defaultGrid      the grid of an image whose request names no size
 */
public record ImageLayout(int beginOfImage, int endOfImage, int firstSizeToken, int maxSizeUnits, int codesPerSizeUnit,
                          int rowSeparator, Grid defaultGrid) {

    /** An image's code grid: {@code rows × cols} codes, row-major. */
    public record Grid(int rows, int cols) {
        public Grid {
            if (rows < 1 || cols < 1) throw new IllegalArgumentException("a grid needs positive sides, got " + rows + "×" + cols);
        }

        public int codes() {
            return rows * cols;
        }

        @Override
        public String toString() {
            return rows + "×" + cols;
        }
    }

    public ImageLayout {
        if (defaultGrid == null) throw new IllegalArgumentException("an image layout needs a default grid");
        if (firstSizeToken >= 0 && (maxSizeUnits < 1 || codesPerSizeUnit < 1)) {
            throw new IllegalArgumentException("size tokens need a positive unit and maximum");
        }
    }

    /** Begin-of-image, then exactly {@code grid}'s codes, then end-of-image: Chameleon's layout. */
    public static ImageLayout chameleon(int beginOfImage, int endOfImage, Grid grid) {
        return new ImageLayout(beginOfImage, endOfImage, -1, 0, 0, -1, grid);
    }

    /** A run of {@code n} codes with nothing between them (one masked run of an image being infilled). */
    public static ImageLayout run(int beginOfImage, int endOfImage, int n) {
        return chameleon(beginOfImage, endOfImage, new Grid(1, Math.max(1, n)));
    }

    public boolean hasSizeTokens() {
        return firstSizeToken >= 0;
    }

    public boolean hasRowSeparator() {
        return rowSeparator >= 0;
    }

    /** Tokens from begin-of-image up to the first code: begin-of-image and the size tokens. */
    public int headerLength() {
        return hasSizeTokens() ? 3 : 1;
    }

    /** Begin-of-image and, where the layout has them, the height and width tokens of {@code grid}. */
    public int[] header(Grid grid) {
        if (!hasSizeTokens()) return new int[]{beginOfImage};
        requireStatable(grid);
        return new int[]{beginOfImage, firstSizeToken + grid.rows() / codesPerSizeUnit,
                firstSizeToken + grid.cols() / codesPerSizeUnit};
    }

    /** Tokens between the header and end-of-image: the codes, and a separator after each row where there is one. */
    public int bodyLength(Grid grid) {
        return grid.rows() * (grid.cols() + (hasRowSeparator() ? 1 : 0));
    }

    /** Tokens of a whole image, begin- and end-of-image included. */
    public int length(Grid grid) {
        return headerLength() + bodyLength(grid) + 1;
    }

    /** A whole image: header, {@code codeTokens} (the codes' token ids, row-major) with row separators, end-of-image. */
    public int[] sequence(int[] codeTokens, Grid grid) {
        if (codeTokens.length != grid.codes()) {
            throw new IllegalArgumentException("a " + grid + " grid has " + grid.codes() + " codes, got " + codeTokens.length);
        }
        int[] header = header(grid);
        int[] out = new int[length(grid)];
        System.arraycopy(header, 0, out, 0, header.length);
        int at = header.length;
        for (int r = 0; r < grid.rows(); r++) {
            System.arraycopy(codeTokens, r * grid.cols(), out, at, grid.cols());
            at += grid.cols();
            if (hasRowSeparator()) out[at++] = rowSeparator;
        }
        out[at] = endOfImage;
        return out;
    }

    /** Whether {@code id} is a size token this layout can read. */
    public boolean isSizeToken(int id) {
        return hasSizeTokens() && id > firstSizeToken && id <= firstSizeToken + maxSizeUnits;
    }

    /** The grid a height token and a width token state. */
    public Grid gridOfSizeTokens(int heightToken, int widthToken) {
        if (!isSizeToken(heightToken) || !isSizeToken(widthToken)) {
            throw new IllegalArgumentException("tokens " + heightToken + ", " + widthToken + " are not size tokens (ids "
                    + (firstSizeToken + 1) + "–" + (firstSizeToken + maxSizeUnits) + ")");
        }
        return new Grid((heightToken - firstSizeToken) * codesPerSizeUnit, (widthToken - firstSizeToken) * codesPerSizeUnit);
    }

    /** Whether a request may ask for {@code grid}: any statable grid with size tokens, else only the default one. */
    public boolean allows(Grid grid) {
        if (!hasSizeTokens()) return grid.equals(defaultGrid);
        return grid.rows() % codesPerSizeUnit == 0 && grid.cols() % codesPerSizeUnit == 0
                && grid.rows() / codesPerSizeUnit <= maxSizeUnits && grid.cols() / codesPerSizeUnit <= maxSizeUnits;
    }

    /**
     * The grid an input image of {@code width × height} pixels is fitted to: of the buckets with the default grid's
     * area in size units and sides at most 4:1, the one that keeps the largest share of the image (Lumina-mGPT's
     * item processor). Without size tokens, the default grid.
     */
    public Grid bucketFor(int width, int height) {
        if (!hasSizeTokens()) return defaultGrid;
        int area = (defaultGrid.rows() / codesPerSizeUnit) * (defaultGrid.cols() / codesPerSizeUnit);
        Grid best = defaultGrid;
        double bestKept = -1;
        int bestW = -1;
        // (wUnits, hUnits) as the item processor lists them: widest first, each with the tallest height that fits.
        int wp = area, hp = 1;
        while (wp > 0) {
            if (Math.max(wp, hp) <= 4.0 * Math.min(wp, hp) && wp <= maxSizeUnits && hp <= maxSizeUnits) {
                double sw = (double) wp / width, sh = (double) hp / height;
                double kept = Math.min(sw, sh) / Math.max(sw, sh);
                // Ties go to the wider bucket, as the reference's descending sort of (kept, (w, h)) does.
                if (kept > bestKept || (kept == bestKept && wp > bestW)) {
                    bestKept = kept;
                    bestW = wp;
                    best = new Grid(hp * codesPerSizeUnit, wp * codesPerSizeUnit);
                }
            }
            if ((hp + 1) * wp <= area) hp++;
            else wp--;
        }
        return best;
    }

    private void requireStatable(Grid grid) {
        if (!allows(grid)) {
            throw new IllegalArgumentException("a " + grid + " grid cannot be stated by size tokens of " + codesPerSizeUnit
                    + " codes per unit, at most " + maxSizeUnits + " units");
        }
    }

    /** Splits a whole image's tokens (begin- to end-of-image, or cut short) into its grid and its code tokens. */
    public Parsed parse(int[] tokens) {
        int at = 0;
        if (at < tokens.length && tokens[at] == beginOfImage) at++;
        Grid grid = defaultGrid;
        if (hasSizeTokens()) {
            if (tokens.length < at + 2 || !isSizeToken(tokens[at]) || !isSizeToken(tokens[at + 1])) {
                return new Parsed(grid, new int[0], false);
            }
            grid = gridOfSizeTokens(tokens[at], tokens[at + 1]);
            at += 2;
        }
        int[] codes = new int[grid.codes()];
        int n = 0, inRow = 0;
        for (; at < tokens.length && tokens[at] != endOfImage && n < codes.length; at++) {
            if (hasRowSeparator() && inRow == grid.cols()) {
                inRow = 0;          // the separator after a full row
                continue;
            }
            codes[n++] = tokens[at];
            inRow++;
        }
        return new Parsed(grid, Arrays.copyOf(codes, n), n == codes.length);
    }

    /** An image's grid and the code tokens found for it ({@code complete} when the grid is full). */
    public record Parsed(Grid grid, int[] codeTokens, boolean complete) {
    }
}
