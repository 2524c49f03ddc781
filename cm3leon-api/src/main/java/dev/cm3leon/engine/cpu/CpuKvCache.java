package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.engine.KvCache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Keys and values off the heap, [layers][capacity][kvDim] f32 each, allocated for the request's whole length and
 * returned to the system the moment the cache is closed (a heap cache would linger as garbage until a full GC).
 */
final class CpuKvCache implements KvCache {
    final CpuEngine owner;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment keys, values;
    private final long layerBytes;
    private final int capacity, kvDim;
    private final AtomicBoolean closed = new AtomicBoolean();
    private int length;

    CpuKvCache(CpuEngine owner, int layers, int capacity, int kvDim) {
        this.owner = owner;
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.layerBytes = (long) capacity * kvDim * Float.BYTES;
        try {
            keys = arena.allocate(layerBytes * layers, 64);
            values = arena.allocate(layerBytes * layers, 64);
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new Cm3LeonException("not enough memory for a KV cache of " + capacity + " positions ("
                    + 2 * layerBytes * layers / (1 << 20) + " MiB)");
        }
    }

    /** Layer {@code layer}'s keys, [capacity][kvDim]. */
    MemorySegment keys(int layer) {
        ensureOpen();
        return keys.asSlice(layer * layerBytes, layerBytes);
    }

    MemorySegment values(int layer) {
        ensureOpen();
        return values.asSlice(layer * layerBytes, layerBytes);
    }

    /** Stores one position's key and value rows, each {@code kvDim} floats from the given offsets. */
    void put(int layer, int position, float[] k, int kOff, float[] v, int vOff) {
        ensureOpen();
        long at = layer * layerBytes + (long) position * kvDim * Float.BYTES;
        MemorySegment.copy(k, kOff, keys, ValueLayout.JAVA_FLOAT, at, kvDim);
        MemorySegment.copy(v, vOff, values, ValueLayout.JAVA_FLOAT, at, kvDim);
    }

    void advance(int n) {
        length += n;
    }

    private void ensureOpen() {
        if (closed.get()) throw new IllegalStateException("this KV cache was closed");
    }

    boolean isClosed() {
        return closed.get();
    }

    /** Bytes of keys and values held. */
    long byteSize() {
        return keys.byteSize() + values.byteSize();
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
        if (closed.compareAndSet(false, true)) arena.close();
    }
}
