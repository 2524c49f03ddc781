package dev.cm3leon.engine.cpu;

import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.KvCacheMemoryException;

import java.lang.ref.Cleaner;

/**
 * Keys and values on the heap, [layers][capacity · kvDim], preallocated for the request's whole length. The bytes are
 * reserved from the engine's {@link dev.cm3leon.engine.KvCacheBudget} first and returned on close (or, for a cache its
 * owner forgot to close, when it is collected).
 */
final class CpuKvCache implements KvCache {
    private static final Cleaner CLEANER = Cleaner.create();
    /** The largest Java array the JVM hands out. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    final CpuEngine owner;
    private float[][] keys, values;
    private final int capacity;
    private final Cleaner.Cleanable release;
    private int length;

    /** Bytes a cache of {@code capacity} positions takes, or a refusal when one layer would not fit a Java array. */
    static long bytes(int layers, int capacity, int kvDim) {
        long perLayer = (long) capacity * kvDim;
        if (perLayer > MAX_ARRAY) {
            throw new KvCacheMemoryException("a KV cache of " + capacity + " positions needs " + perLayer
                    + " floats per layer, more than a Java array holds");
        }
        try {
            return Math.multiplyExact(2L * layers * Float.BYTES, perLayer);
        } catch (ArithmeticException e) {
            throw new KvCacheMemoryException("a KV cache of " + capacity + " positions over " + layers + " layers is too large");
        }
    }

    /** Allocates against {@code giveBack}, bytes already reserved for this cache, which it returns on close. */
    CpuKvCache(CpuEngine owner, int layers, int capacity, int kvDim, Runnable giveBack) {
        this.owner = owner;
        this.capacity = capacity;
        long perLayer = (long) capacity * kvDim;
        long bytes = 2L * layers * perLayer * Float.BYTES;
        String what = "a KV cache of " + capacity + " positions";
        try {
            keys = new float[layers][(int) perLayer];
            values = new float[layers][(int) perLayer];
        } catch (OutOfMemoryError e) {
            keys = values = null;
            giveBack.run();
            throw new KvCacheMemoryException("not enough heap for " + what + " (" + (bytes >> 20) + " MiB)", e);
        }
        this.release = CLEANER.register(this, giveBack);
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
        release.clean();
    }
}
