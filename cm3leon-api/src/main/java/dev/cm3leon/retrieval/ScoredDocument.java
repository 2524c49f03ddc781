package dev.cm3leon.retrieval;

/**
 * A search result: the document, its stored embedding (for de-duplication among results) and its inner product with
 * the query.
 */
public record ScoredDocument(Document document, float[] embedding, float score) {
    public ScoredDocument {
        embedding = embedding.clone();
    }

    @Override
    public float[] embedding() {
        return embedding.clone();
    }

    public String id() {
        return document.id();
    }

    @Override
    public String toString() {
        return "ScoredDocument[" + document.id() + ", score=" + score + "]";
    }
}
