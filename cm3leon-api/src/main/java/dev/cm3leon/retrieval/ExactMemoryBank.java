package dev.cm3leon.retrieval;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.engine.cpu.MatrixWeights;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An exact in-memory index: the embeddings are rows of one off-heap matrix [size, dimension], and a search is one
 * matrix–vector product with the CPU engine's Vector-API kernel, then a top-k selection. Search cost grows linearly
 * with the bank; it is the reference the approximate index is measured against, and fast enough up to about a
 * million 512-d documents. Nothing is persisted. Searches share a read lock; writes take the write lock.
 */
public final class ExactMemoryBank implements MemoryBank {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final int dimension;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<String, Integer> rowOf = new HashMap<>();
    private final List<Document> documents = new ArrayList<>();
    private Arena arena;
    private MemorySegment vectors;       // [capacity, dimension] f32, little-endian
    private int capacity;
    private boolean closed;

    public ExactMemoryBank(int dimension) {
        if (dimension < 1) throw new IllegalArgumentException("dimension must be positive");
        this.dimension = dimension;
        allocate(1024);
    }

    private void allocate(int rows) {
        Arena next = Arena.ofShared();
        MemorySegment seg = next.allocate((long) rows * dimension * 4, 64);
        if (vectors != null) {
            MemorySegment.copy(vectors, 0, seg, 0, (long) documents.size() * dimension * 4);
            arena.close();                      // no reader holds it: we are under the write lock
        }
        arena = next;
        vectors = seg;
        capacity = rows;
    }

    @Override
    public int dimension() {
        return dimension;
    }

    @Override
    public long size() {
        lock.readLock().lock();
        try {
            return documents.size();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void add(List<MemoryEntry> entries) {
        entries.forEach(e -> MemoryBank.checkVector(e.embedding(), dimension, "the embedding of '" + e.id() + "'"));
        lock.writeLock().lock();
        try {
            ensureOpen();
            for (MemoryEntry e : entries) {
                Integer row = rowOf.get(e.id());
                if (row == null) {
                    if (documents.size() == capacity) allocate(Math.max(capacity + 1, capacity + capacity / 2));
                    row = documents.size();
                    documents.add(e.document());
                    rowOf.put(e.id(), row);
                } else {
                    documents.set(row, e.document());
                }
                MemorySegment.copy(e.embedding(), 0, vectors, LE, (long) row * dimension * 4, dimension);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public boolean update(MemoryEntry entry) {
        MemoryBank.checkVector(entry.embedding(), dimension, "the embedding of '" + entry.id() + "'");
        lock.writeLock().lock();
        try {
            ensureOpen();
            if (!rowOf.containsKey(entry.id())) return false;
            add(List.of(entry));
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public boolean delete(String id) {
        lock.writeLock().lock();
        try {
            ensureOpen();
            Integer row = rowOf.remove(id);
            if (row == null) return false;
            // the last row moves into the hole, so the matrix stays dense
            int last = documents.size() - 1;
            if (row != last) {
                MemorySegment.copy(vectors, (long) last * dimension * 4, vectors, (long) row * dimension * 4, (long) dimension * 4);
                Document moved = documents.get(last);
                documents.set(row, moved);
                rowOf.put(moved.id(), row);
            }
            documents.removeLast();
            return true;
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public List<ScoredDocument> search(float[] query, int k) {
        MemoryBank.checkVector(query, dimension, "the query");
        if (k < 1) throw new IllegalArgumentException("k must be positive, found " + k);
        lock.readLock().lock();
        try {
            ensureOpen();
            int n = documents.size();
            if (n == 0) return List.of();
            float[] scores = new float[n];     // [n] = bank [n, d] · query [d]
            matrix(n).matmul(query, 1, scores);
            List<ScoredDocument> out = new ArrayList<>(Math.min(k, n));
            for (int row : TopK.largest(scores, n, k)) out.add(new ScoredDocument(documents.get(row), vector(row), scores[row]));
            return out;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The first n rows as a weight matrix, so the search reuses the engine's matrix–vector kernel. */
    private MatrixWeights matrix(int n) {
        long bytes = (long) n * dimension * 4;
        return MatrixWeights.of(new Tensor("memory-bank", DType.F32, new long[]{n, dimension}, vectors.asSlice(0, bytes)));
    }

    private float[] vector(int row) {
        float[] v = new float[dimension];
        MemorySegment.copy(vectors, LE, (long) row * dimension * 4, v, 0, dimension);
        return v;
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("the memory bank is closed");
    }

    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            if (closed) return;
            closed = true;
            arena.close();
            documents.clear();
            rowOf.clear();
        } finally {
            lock.writeLock().unlock();
        }
    }
}
