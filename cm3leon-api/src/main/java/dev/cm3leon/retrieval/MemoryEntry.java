package dev.cm3leon.retrieval;

import java.util.Objects;

/** A document with its embedding, as a memory bank stores it. */
public record MemoryEntry(Document document, float[] embedding) {
    public MemoryEntry {
        Objects.requireNonNull(document, "document");
        embedding = embedding.clone();
        for (float f : embedding) {
            if (!Float.isFinite(f)) throw new IllegalArgumentException("embedding of '" + document.id() + "' is not finite");
        }
    }

    @Override
    public float[] embedding() {
        return embedding.clone();
    }

    public String id() {
        return document.id();
    }
}
