package dev.cm3leon.cuda;

import dev.cm3leon.engine.KvCache;

/**
 * One stream's keys and values on the device: an arena [layers][2][capacity][kvDim] in the engine's element type
 * (K then V per layer), the layout qk_norm_rope.cu writes and the attention kernels read.
 */
final class CudaKvCache implements KvCache {
    final CudaEngine owner;
    private final DeviceBuffer arena;
    private final int capacity;
    private int length;
    private boolean closed;

    CudaKvCache(CudaEngine owner, Device device, int layers, int capacity, int kvDim, ElementType type) {
        this.owner = owner;
        this.capacity = capacity;
        this.arena = new DeviceBuffer(device, 2L * layers * capacity * kvDim * type.bytes);
    }

    long pointer() {
        return arena.pointer();
    }

    void advance(int n) {
        length += n;
    }

    boolean isClosed() {
        return closed;
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
        if (!closed) {
            closed = true;
            owner.release(arena);
        }
    }
}
