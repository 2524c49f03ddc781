package dev.cm3leon.retrieval;

import java.awt.image.BufferedImage;
import java.util.Objects;
import java.util.Optional;

/**
 * A retrievable document: a caption, an image, or both, under an id unique within its memory bank. Its embedding is
 * the mean of the L2-normalised text and image embeddings, normalised again ({@link Embedder#embed(Document)}).
 */
public record Document(String id, Optional<String> text, Optional<DocumentImage> image) {
    public Document {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(image, "image");
        if (id.isBlank()) throw new IllegalArgumentException("a document id must not be blank");
        if (text.isEmpty() && image.isEmpty()) throw new IllegalArgumentException("document '" + id + "' has neither text nor image");
    }

    /** A document with either part absent ({@code null}). */
    public static Document of(String id, String text, DocumentImage image) {
        return new Document(id, Optional.ofNullable(text), Optional.ofNullable(image));
    }

    public static Document ofText(String id, String text) {
        return of(id, Objects.requireNonNull(text, "text"), null);
    }

    public static Document ofImage(String id, BufferedImage image) {
        return of(id, null, DocumentImage.of(image));
    }
}
