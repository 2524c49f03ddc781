package dev.cm3leon;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Finds documents to prepend to a request (CM3Leon's retrieval augmentation). Implemented by the retrieval package's
 * retriever over a memory bank; anything that can answer a query with documents can serve.
 */
@FunctionalInterface
public interface Retrieval {
    /** A retrieved document: text, image or both, and its score against the query. */
    record Document(String id, String text, BufferedImage image, double score) {
    }

    /** Up to {@code k} documents for a query made of a text and/or an image (either may be null). */
    List<Document> retrieve(String queryText, BufferedImage queryImage, int k);
}
