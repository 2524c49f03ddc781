package dev.cm3leon.retrieval;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.vq.ImageFiles;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;

/** The image of a {@link Document}: its encoded bytes (stored with the document), or a reference to a file. */
public sealed interface DocumentImage {
    /** Decodes the image; a {@link Cm3LeonException} names the source when it is missing or not a readable image. */
    BufferedImage read();

    /** The image as encoded bytes (PNG, JPEG… whatever {@link ImageIO} reads), kept as given. */
    record Encoded(byte[] bytes) implements DocumentImage {
        public Encoded {
            if (bytes.length == 0) throw new IllegalArgumentException("empty image bytes");
            bytes = bytes.clone();
        }

        @Override
        public byte[] bytes() {
            return bytes.clone();
        }

        /** Decoded under the default pixel budget: bytes from a memory bank may declare any size. */
        @Override
        public BufferedImage read() {
            return ImageFiles.read(bytes, ImageFiles.DEFAULT_MAX_PIXELS);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Encoded e && Arrays.equals(bytes, e.bytes);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(bytes);
        }

        @Override
        public String toString() {
            return "Encoded[" + bytes.length + " bytes, " + HexFormat.of().formatHex(bytes, 0, Math.min(4, bytes.length)) + "…]";
        }
    }

    /** A reference to an image file, read when needed; the bank stores the path, not the pixels. */
    record FileReference(Path path) implements DocumentImage {
        @Override
        public BufferedImage read() {
            return ImageFiles.read(path);
        }
    }

    /** Encodes an in-memory image as PNG (lossless, so the embedding of the stored image is the same). */
    static DocumentImage of(BufferedImage image) {
        var out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) throw new Cm3LeonException("no PNG writer for this image type");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Encoded(out.toByteArray());
    }

    static DocumentImage of(byte[] encoded) {
        return new Encoded(encoded);
    }

    static DocumentImage reference(Path file) {
        return new FileReference(file);
    }
}
