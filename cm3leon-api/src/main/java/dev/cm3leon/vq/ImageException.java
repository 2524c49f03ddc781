package dev.cm3leon.vq;

import dev.cm3leon.Cm3LeonException;

import java.nio.file.Path;

/** An image that cannot be used: not found, not an image, truncated or corrupt, empty, or above the pixel budget. */
public class ImageException extends Cm3LeonException {
    public ImageException(String message) {
        super(message);
    }

    public ImageException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "{file}: {what}", or "image: {what}" for an image that came from memory. */
    public static ImageException of(Path file, String what) {
        return new ImageException((file == null ? "image" : file.toString()) + ": " + what);
    }

    public static ImageException of(Path file, String what, Throwable cause) {
        return new ImageException((file == null ? "image" : file.toString()) + ": " + what, cause);
    }
}
