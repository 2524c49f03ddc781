package dev.cm3leon.engine.cpu;

import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.KvCacheMemoryException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Keys and values off the heap, [layers][capacity][kvDim] f32 (or bf16, rounded to nearest even) each, allocated for the request's whole length and
 * returned to the system the moment the cache is closed (a heap cache would linger as garbage until a full GC). The
 * bytes are reserved from the engine's {@link dev.cm3leon.engine.KvCacheBudget} first and returned on close (or, for
 * a cache its owner forgot to close, when it is collected).
 */
final class CpuKvCache implements KvCache {
    private static final Cleaner CLEANER = Cleaner.create();

    final CpuEngine owner;
    private final MemorySegment keys, values;
    private final long layerBytes;
    private final int capacity, kvDim;
    private final boolean bf16;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Cleaner.Cleanable release;
    private int length;

    /** Bytes a cache of {@code capacity} positions takes, or a refusal when the count overflows. */
    static long bytes(int layers, int capacity, int kvDim, boolean bf16) {
        try {
            return Math.multiplyExact(2L * layers * (bf16 ? 2 : Float.BYTES), Math.multiplyExact((long) capacity, kvDim));
        } catch (ArithmeticException e) {
            throw new KvCacheMemoryException("a KV cache of " + capacity + " positions over " + layers + " layers is too large");
        }
    }

    /** Allocates against {@code giveBack}, bytes already reserved for this cache, which it returns on close. */
    CpuKvCache(CpuEngine owner, int layers, int capacity, int kvDim, boolean bf16, Runnable giveBack) {
        this.owner = owner;
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.bf16 = bf16;
        this.layerBytes = (long) capacity * kvDim * (bf16 ? 2 : Float.BYTES);
        // Shared: the engine's worker threads read the cache. Closed by close(), or by the cleaner once unreachable.
        Arena arena = Arena.ofShared();
        try {
            keys = arena.allocate(layerBytes * layers, 64);
            values = arena.allocate(layerBytes * layers, 64);
        } catch (OutOfMemoryError e) {
            arena.close();
            giveBack.run();
            throw new KvCacheMemoryException("not enough memory for a KV cache of " + capacity + " positions ("
                    + (2 * layerBytes * layers >> 20) + " MiB)", e);
        }
        this.release = CLEANER.register(this, () -> {
            arena.close();
            giveBack.run();
        });
    }

    /** Whether keys and values are stored as bf16 (else f32). */
    boolean bf16() {
        return bf16;
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
        if (bf16) {
            long at = layer * layerBytes + (long) position * kvDim * 2;
            for (int i = 0; i < kvDim; i++) {
                keys.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2L * i, toBf16(k[kOff + i]));
                values.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2L * i, toBf16(v[vOff + i]));
            }
            return;
        }
        long at = layer * layerBytes + (long) position * kvDim * Float.BYTES;
        MemorySegment.copy(k, kOff, keys, ValueLayout.JAVA_FLOAT, at, kvDim);
        MemorySegment.copy(v, vOff, values, ValueLayout.JAVA_FLOAT, at, kvDim);
    }

    /** The bf16 nearest to {@code f} (ties to even); NaN stays NaN. */
    static short toBf16(float f) {
        int b = Float.floatToRawIntBits(f);
        if ((b & 0x7FFFFFFF) > 0x7F800000) return (short) ((b >>> 16) | 0x40);
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
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
        if (closed.compareAndSet(false, true)) release.clean();
    }
}
