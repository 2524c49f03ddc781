package dev.cm3leon.vq;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.color.ColorSpace;
import java.util.Objects;

/**
 * An 8-bit RGB image, rows of interleaved R, G, B bytes (numpy's HWC {@code uint8}). Images with transparency are
 * blended onto white on the way in, as Chameleon's preprocessing does.
 */
public record RgbImage(int width, int height, byte[] rgb) {
    public RgbImage {
        Objects.requireNonNull(rgb, "rgb");
        if (width < 1 || height < 1) throw new ImageException("image: zero-size image " + width + "×" + height);
        if ((long) width * height * 3 != rgb.length) {
            throw new IllegalArgumentException("a " + width + "×" + height + " RGB image needs " + (long) width * height * 3
                    + " bytes, got " + rgb.length);
        }
    }

    /** Channel {@code c} (0 = R) of pixel (x, y), 0–255. */
    public int get(int x, int y, int c) {
        return rgb[(y * width + x) * 3 + c] & 0xFF;
    }

    /**
     * The RGB pixels of any image. Transparent pixels are blended onto white in float64 and truncated, as HF's
     * {@code ChameleonImageProcessor.blend_rgba} and Meta's {@code _whiten_transparency} do:
     * {@code uint8((1 − a/255)·255 + (a/255)·c)}. Grey images are replicated into the three channels, 16-bit samples
     * keep their high byte, as Pillow reads them.
     */
    public static RgbImage of(BufferedImage image) {
        int w = image.getWidth(), h = image.getHeight();
        if (w < 1 || h < 1) throw new ImageException("image: zero-size image " + w + "×" + h);
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        int type = cm.getColorSpace().getType();
        boolean direct = cm instanceof ComponentColorModel && !cm.isAlphaPremultiplied()
                && (type == ColorSpace.TYPE_GRAY || cm.getColorSpace().isCS_sRGB())
                && (raster.getTransferType() == DataBuffer.TYPE_BYTE || raster.getTransferType() == DataBuffer.TYPE_USHORT);
        if (direct) {
            // Read the samples themselves: Java's colour conversion would apply a gamma curve to grey images.
            boolean grey = type == ColorSpace.TYPE_GRAY;
            int colours = grey ? 1 : 3;
            int shift = raster.getTransferType() == DataBuffer.TYPE_USHORT ? 8 : 0;
            int bands = raster.getNumBands();
            int[] px = new int[bands];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    raster.getPixel(x, y, px);
                    int a = cm.hasAlpha() ? px[colours] >> shift : 255;
                    int o = (y * w + x) * 3;
                    for (int c = 0; c < 3; c++) out[o + c] = blend(px[grey ? 0 : c] >> shift, a);
                }
            }
        } else {
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                image.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int argb = row[x], a = argb >>> 24, o = (y * w + x) * 3;
                    out[o] = blend((argb >> 16) & 0xFF, a);
                    out[o + 1] = blend((argb >> 8) & 0xFF, a);
                    out[o + 2] = blend(argb & 0xFF, a);
                }
            }
        }
        return new RgbImage(w, h, out);
    }

    private static byte blend(int c, int a) {
        if (a == 255) return (byte) c;
        double alpha = a / 255.0;
        return (byte) (int) ((1 - alpha) * 255 + alpha * c);
    }

    public BufferedImage toBufferedImage() {
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int o = (y * width + x) * 3;
                row[x] = (rgb[o] & 0xFF) << 16 | (rgb[o + 1] & 0xFF) << 8 | rgb[o + 2] & 0xFF;
            }
            img.setRGB(0, y, width, 1, row, 0, width);
        }
        return img;
    }

    /**
     * The {@code height × width} window whose top-left corner is at ({@code left}, {@code top}) of this image; parts
     * outside the image are black, as Pillow's {@code crop} and HF's padded {@code center_crop} fill them.
     */
    public RgbImage crop(int left, int top, int cropWidth, int cropHeight) {
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(cropWidth, cropHeight), 3)];
        for (int y = 0; y < cropHeight; y++) {
            int sy = y + top;
            if (sy < 0 || sy >= height) continue;
            int x0 = Math.max(0, -left), x1 = Math.min(cropWidth, width - left);
            if (x1 > x0) System.arraycopy(rgb, (sy * width + left + x0) * 3, out, (y * cropWidth + x0) * 3, (x1 - x0) * 3);
        }
        return new RgbImage(cropWidth, cropHeight, out);
    }

    /** The centred {@code height × width} window: offsets {@code ⌊(size − crop)/2⌋}, as HF and Meta compute them. */
    public RgbImage centerCrop(int cropWidth, int cropHeight) {
        return crop(Math.floorDiv(width - cropWidth, 2), Math.floorDiv(height - cropHeight, 2), cropWidth, cropHeight);
    }

    /** Resized as Pillow's {@code Image.resize} does for an RGB image (8-bit fixed-point, bit-exact). */
    public RgbImage resize(int newWidth, int newHeight, ResampleFilter filter) {
        return PilResampler.resize(this, newWidth, newHeight, filter);
    }
}
