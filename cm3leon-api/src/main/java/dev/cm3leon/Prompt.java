package dev.cm3leon;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A mixed-modal prompt: text, images and masks in order. Masks mark what {@code infill} should generate: a text span
 * ({@link #mask()}) or a region of an image's token grid ({@link #maskedImage}).
 */
public record Prompt(List<Segment> segments) {
    public Prompt {
        segments = List.copyOf(segments);
    }

    /** One part of a prompt. */
    public sealed interface Segment permits Text, Image, Mask {
    }

    public record Text(String text) implements Segment {
        public Text {
            Objects.requireNonNull(text, "text");
        }
    }

    /**
     * An image; {@code maskedCells} (optional) is a rectangle of the token grid, in cells, to infill.
     */
    public record Image(BufferedImage image, GridRegion maskedCells) implements Segment {
        public Image {
            Objects.requireNonNull(image, "image");
        }
    }

    /** A text span to infill. */
    public record Mask() implements Segment {
    }

    /** Cells {@code [x0, x1) × [y0, y1)} of an image's token grid. */
    public record GridRegion(int x0, int y0, int x1, int y1) {
        public GridRegion {
            if (x0 < 0 || y0 < 0 || x1 <= x0 || y1 <= y0) {
                throw new InvalidRequestException("grid region [" + x0 + "," + x1 + ")×[" + y0 + "," + y1 + ") is empty or negative");
            }
        }
    }

    /** Strings become text, {@link BufferedImage}s images, segments stay as they are. */
    public static Prompt of(Object... parts) {
        List<Segment> list = new ArrayList<>();
        for (Object p : parts) {
            switch (p) {
                case Segment s -> list.add(s);
                case String s -> list.add(new Text(s));
                case BufferedImage img -> list.add(new Image(img, null));
                case null -> throw new InvalidRequestException("a prompt part is null");
                default -> throw new InvalidRequestException("a prompt part must be a String, a BufferedImage or a Prompt.Segment, got "
                        + p.getClass().getName());
            }
        }
        return new Prompt(list);
    }

    public static Mask mask() {
        return new Mask();
    }

    /** An image whose grid cells {@code [x0, x1) × [y0, y1)} are to be infilled. */
    public static Image maskedImage(BufferedImage image, int x0, int y0, int x1, int y1) {
        return new Image(image, new GridRegion(x0, y0, x1, y1));
    }

    public boolean hasMasks() {
        return segments.stream().anyMatch(s -> s instanceof Mask || (s instanceof Image i && i.maskedCells() != null));
    }
}
