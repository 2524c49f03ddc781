package dev.cm3leon.retrieval;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.Raster;

/**
 * An 8-bit RGB image, row-major HWC: {@code pixels[(y·width + x)·3 + c]}. The form preprocessing works in, as PIL's
 * {@code RGB} mode.
 */
record RgbImage(int width, int height, byte[] pixels) {
    RgbImage {
        if (width < 1 || height < 1) throw new IllegalArgumentException("image of " + width + "×" + height + " pixels");
        if (pixels.length != width * height * 3) throw new IllegalArgumentException("pixel buffer does not match the size");
    }

    int get(int x, int y, int c) {
        return pixels[(y * width + x) * 3 + c] & 0xFF;
    }

    /**
     * PIL's {@code convert("RGB")}: alpha is dropped (not composited), and 8-bit grey values are copied to all three
     * channels as they are ({@link BufferedImage#getRGB} would pass grey through a colour-space conversion).
     */
    static RgbImage of(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight();
        byte[] px = new byte[w * h * 3];
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        if (image.getType() == BufferedImage.TYPE_BYTE_GRAY
                || (raster.getNumBands() <= 2 && cm.getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_GRAY
                && cm.getComponentSize(0) == 8)) {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3;
                    px[o] = px[o + 1] = px[o + 2] = (byte) row[x];
                }
            }
        } else {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                image.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int o = (y * w + x) * 3, argb = row[x];
                    px[o] = (byte) (argb >> 16);
                    px[o + 1] = (byte) (argb >> 8);
                    px[o + 2] = (byte) argb;
                }
            }
        }
        return new RgbImage(w, h, px);
    }
}
