package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.ReplacingWrite;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Reads and writes image files (PNG, JPEG, and whatever else {@code javax.imageio} knows) defensively: the size is
 * read from the header and checked against a pixel budget before any pixel is decoded, so a small file that declares
 * a huge image (a decompression bomb) costs nothing; truncated or corrupt data, which some decoders only report as a
 * warning and fill with grey, is an error.
 */
public final class ImageFiles {
    /** The default pixel budget: 64 Mi pixels (an 8192 × 8192 image). */
    public static final long DEFAULT_MAX_PIXELS = 64L << 20;

    private ImageFiles() {
    }

    /** Reads {@code file} with the {@linkplain #DEFAULT_MAX_PIXELS default} pixel budget. */
    public static BufferedImage read(Path file) {
        return read(file, DEFAULT_MAX_PIXELS);
    }

    /**
     * Reads the first image of {@code file}.
     *
     * @throws ImageException naming the file: missing, empty, not an image, zero-size, above {@code maxPixels}, or
     *                        truncated or corrupt
     */
    public static BufferedImage read(Path file, long maxPixels) {
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (NoSuchFileException e) {
            throw ImageException.of(file, "file not found");
        } catch (IOException e) {
            throw ImageException.of(file, "cannot read: " + e.getMessage(), e);
        }
        if (Files.isDirectory(file)) throw ImageException.of(file, "is a folder, not an image file");
        if (bytes == 0) throw ImageException.of(file, "empty file (0 bytes)");
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            return decode(in, file, maxPixels);
        } catch (IIOException e) {
            throw ImageException.of(file, "cannot read: " + message(e), e);
        } catch (IOException e) {
            throw ImageException.of(file, "cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Decodes encoded image bytes (a document stored in a memory bank, say) under the same checks as a file; the
     * message says "image" where it would name the file.
     */
    public static BufferedImage read(byte[] encoded, long maxPixels) {
        if (encoded.length == 0) throw ImageException.of(null, "empty image (0 bytes)");
        try (ImageInputStream in = ImageIO.createImageInputStream(new java.io.ByteArrayInputStream(encoded))) {
            return decode(in, null, maxPixels);
        } catch (IIOException e) {
            throw ImageException.of(null, "cannot read: " + message(e), e);
        } catch (IOException e) {
            throw ImageException.of(null, "cannot read: " + e.getMessage(), e);
        }
    }

    /** Header, pixel budget, then pixels; {@code file} only names the source (null for bytes from memory). */
    private static BufferedImage decode(ImageInputStream in, Path file, long maxPixels) throws IOException {
        if (in == null) throw ImageException.of(file, "cannot open");
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) throw ImageException.of(file, "not an image file (no PNG, JPEG, GIF or BMP signature)");
        ImageReader reader = readers.next();
        try {
            reader.setInput(in, true, true);
            String format = reader.getFormatName().toUpperCase(java.util.Locale.ROOT);
            int width, height;
            try {
                width = reader.getWidth(0);
                height = reader.getHeight(0);
            } catch (IOException | RuntimeException e) {
                throw ImageException.of(file, "unreadable " + format + " header: " + message(e), e);
            }
            if (width < 1 || height < 1) throw ImageException.of(file, "zero-size image " + width + "×" + height);
            checkBudget(file, width, height, maxPixels);
            List<String> warnings = new ArrayList<>();
            reader.addIIOReadWarningListener(new IIOReadWarningListener() {
                @Override
                public void warningOccurred(ImageReader source, String warning) {
                    warnings.add(warning);
                }
            });
            BufferedImage image;
            try {
                image = reader.read(0);
            } catch (IOException | RuntimeException e) {
                throw ImageException.of(file, "truncated or corrupt " + format + " data: " + message(e), e);
            }
            if (!warnings.isEmpty()) {
                throw ImageException.of(file, "truncated or corrupt " + format + " data: " + warnings.getFirst());
            }
            return image;
        } finally {
            reader.dispose();
        }
    }

    /** Refuses an image of more than {@code maxPixels} pixels. */
    static void checkBudget(Path file, long width, long height, long maxPixels) {
        if (width * height > maxPixels) {
            throw ImageException.of(file, "image is " + width + "×" + height + " = " + width * height
                    + " pixels, above the limit of " + maxPixels + " (raise the pixel budget to accept it)");
        }
    }

    private static String message(Throwable e) {
        String m = e.getMessage();
        Throwable cause = e.getCause();
        if (cause != null && cause.getMessage() != null && !cause.getMessage().equals(m)) {
            m = (m == null ? "" : m + ": ") + cause.getMessage();
        }
        return m == null ? e.getClass().getSimpleName() : m;
    }

    /** Writes the bytes of an output file. */
    @FunctionalInterface
    public interface Writer {
        void write(java.io.OutputStream out) throws IOException;
    }

    /** Writes {@code image} as a PNG, all or nothing: a failure leaves any existing file untouched. */
    public static java.nio.file.Path writePng(java.awt.image.RenderedImage image, Path file) {
        return writeAtomically(file, out -> {
            if (!ImageIO.write(image, "png", out)) throw new IOException("no PNG writer available");
        });
    }

    /**
     * Writes through a hidden temporary file beside {@code target}, then moves it into place ({@link ReplacingWrite}:
     * a new file gets the umask's permissions, a replaced one keeps its own).
     */
    public static Path writeAtomically(Path target, Writer writer) {
        try (ReplacingWrite w = ReplacingWrite.of(target)) {
            try (java.io.OutputStream out = Files.newOutputStream(w.temporary())) {
                writer.write(out);
            }
            w.commit();
            return target;
        } catch (IOException e) {
            throw ImageException.of(target, "cannot write: " + e.getMessage(), e);
        }
    }
}
