package dev.cm3leon;

import java.awt.image.BufferedImage;
import java.util.List;

/** Interleaved output: text and images in the order the model produced them. */
public record GeneratedDocument(List<Part> parts, int[] tokens, Timings timings, List<Retrieval.Document> documents) {
    public sealed interface Part permits TextPart, ImagePart {
    }

    public record TextPart(String text) implements Part {
    }

    public record ImagePart(BufferedImage image, int[] codes) implements Part {
    }

    /** All text parts joined. */
    public String text() {
        StringBuilder s = new StringBuilder();
        for (Part p : parts) if (p instanceof TextPart t) s.append(t.text());
        return s.toString();
    }

    public List<BufferedImage> images() {
        return parts.stream().filter(p -> p instanceof ImagePart).map(p -> ((ImagePart) p).image()).toList();
    }
}
