package dev.cm3leon.langchain4j;

import dev.cm3leon.Prompt;
import dev.cm3leon.decode.ImageLayout;

import java.awt.image.BufferedImage;

/**
 * The cells of an image's token grid that a mask image marks for regeneration. A mask with transparent pixels marks
 * those (OpenAI's convention for image edits); an opaque mask marks its light pixels (luma above half, the
 * black-and-white masks of inpainting tools). CM3 infilling regenerates a rectangle of cells, so the region is the
 * smallest one covering every marked pixel.
 */
final class MaskRegion {
    private MaskRegion() {
    }

    static Prompt.GridRegion of(BufferedImage mask, ImageLayout.Grid grid) {
        int w = mask.getWidth(), h = mask.getHeight();
        boolean byAlpha = mask.getColorModel().hasAlpha() && anyTransparent(mask);
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int argb = mask.getRGB(x, y);
                boolean marked = byAlpha ? (argb >>> 24) == 0 : luma(argb) > 127;
                if (marked) {
                    x0 = Math.min(x0, x);
                    y0 = Math.min(y0, y);
                    x1 = Math.max(x1, x);
                    y1 = Math.max(y1, y);
                }
            }
        }
        if (x1 < 0) {
            throw new IllegalArgumentException("the mask marks no pixel: make the region to regenerate transparent, or white on black");
        }
        // pixel box [x0, x1] → cells [cx0, cx1): every cell the box touches, in the mask's own scale
        int cx0 = (int) ((long) x0 * grid.cols() / w), cy0 = (int) ((long) y0 * grid.rows() / h);
        int cx1 = (int) Math.ceilDiv((long) (x1 + 1) * grid.cols(), w), cy1 = (int) Math.ceilDiv((long) (y1 + 1) * grid.rows(), h);
        return new Prompt.GridRegion(cx0, cy0, cx1, cy1);
    }

    private static boolean anyTransparent(BufferedImage mask) {
        for (int y = 0; y < mask.getHeight(); y++) {
            for (int x = 0; x < mask.getWidth(); x++) if ((mask.getRGB(x, y) >>> 24) == 0) return true;
        }
        return false;
    }

    private static int luma(int rgb) {
        int r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
        return (299 * r + 587 * g + 114 * b) / 1000;
    }
}
