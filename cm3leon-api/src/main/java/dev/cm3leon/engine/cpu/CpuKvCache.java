package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.engine.KvCache;

/** Keys and values on the heap, [layers][capacity · kvDim], preallocated for the request's whole length. */
final class CpuKvCache implements KvCache {
    final CpuEngine owner;
    private float[][] keys, values;
    private final int capacity;
    private int length;

    CpuKvCache(CpuEngine owner, int layers, int capacity, int kvDim) {
        this.owner = owner;
        this.capacity = capacity;
        long bytes = 2L * layers * capacity * kvDim * Float.BYTES;
        try {
            keys = new float[layers][capacity * kvDim];
            values = new float[layers][capacity * kvDim];
        } catch (OutOfMemoryError e) {
            keys = values = null;
            throw new Cm3LeonException("not enough memory for a KV cache of " + capacity + " positions ("
                    + bytes / (1 << 20) + " MiB)");
        }
    }

    float[] keys(int layer) {
        ensureOpen();
        return keys[layer];
    }

    float[] values(int layer) {
        ensureOpen();
        return values[layer];
    }

    void advance(int n) {
        length += n;
    }

    private void ensureOpen() {
        if (keys == null) throw new IllegalStateException("this KV cache was closed");
    }

    boolean isClosed() {
        return keys == null;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a cache of " + length + " positions to " + newLength);
        }
        length = newLength;
    }

    @Override
    public void close() {
        keys = null;
        values = null;
    }
}
