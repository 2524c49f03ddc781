package dev.cm3leon.retrieval;

import java.util.List;

/**
 * A store of documents and their embeddings with maximum-inner-product search: the retriever's only view of its
 * memory. Small on purpose, so that any vector store with MIPS can implement it (a distributed one when a single
 * machine is outgrown). Ids are unique within a bank. Implementations are thread-safe: searches may run while
 * documents are added.
 */
public interface MemoryBank extends AutoCloseable {
    /** Length of every embedding in the bank. */
    int dimension();

    /** Number of documents. */
    long size();

    /**
     * Stores the entries; an entry whose id is already present replaces that document. A persistent bank makes the
     * whole list durable together before returning.
     *
     * @throws IllegalArgumentException when an embedding's length is not {@link #dimension()}
     */
    void add(List<MemoryEntry> entries);

    default void add(MemoryEntry entry) {
        add(List.of(entry));
    }

    /** Replaces the document with the entry's id; returns false, storing nothing, when there is none. */
    boolean update(MemoryEntry entry);

    /** Removes the document with this id; returns whether there was one. */
    boolean delete(String id);

    /**
     * The (at most) {@code k} documents with the largest inner product with {@code query}, best first. An empty bank
     * returns an empty list. Approximate indexes may miss some of the exact top k.
     */
    List<ScoredDocument> search(float[] query, int k);

    @Override
    void close();

    /** Shared argument checks. */
    static void checkVector(float[] v, int dimension, String what) {
        if (v.length != dimension) {
            throw new IllegalArgumentException(what + " has " + v.length + " dimensions, the memory bank holds " + dimension);
        }
    }
}
