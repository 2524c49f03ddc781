package dev.cm3leon.cuda;

/** Device memory owned by one object; closing frees it once. */
public final class DeviceBuffer implements AutoCloseable {
    private final Device device;
    private final long bytes;
    private long pointer;

    public DeviceBuffer(Device device, long bytes) {
        this.device = device;
        this.bytes = bytes;
        this.pointer = device.allocate(Math.max(bytes, 16));
    }

    /** The device address; fails once closed. */
    public long pointer() {
        if (pointer == 0) throw new IllegalStateException("device buffer already freed");
        return pointer;
    }

    public long bytes() {
        return bytes;
    }

    /** The address {@code offset} bytes in. */
    public long at(long offset) {
        if (offset < 0 || offset > bytes) throw new IndexOutOfBoundsException("offset " + offset + " of " + bytes + " bytes");
        return pointer() + offset;
    }

    @Override
    public void close() {
        if (pointer != 0) {
            device.free(pointer);
            pointer = 0;
        }
    }
}
