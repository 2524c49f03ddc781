package dev.cm3leon.checkpoint;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A file written through one reusable off-heap buffer, so multi-gigabyte checkpoints stream with a small heap. The
 * bytes go to a hidden sibling ({@link ReplacingWrite}) that replaces the target only on {@link #commit()}; closed
 * without it, the sibling is deleted and the target is as it was.
 */
final class ChunkedOutput implements AutoCloseable {
    private static final int BUFFER = 8 << 20;

    private final Path path;
    private final ReplacingWrite replacing;
    private final FileChannel channel;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment buffer = arena.allocate(BUFFER, 4096);
    private long used;
    private long written;

    ChunkedOutput(Path path) throws IOException {
        this.path = path;
        this.replacing = ReplacingWrite.of(path);
        this.channel = FileChannel.open(replacing.temporary(), StandardOpenOption.WRITE);
    }

    /** Bytes written so far, buffered ones included. */
    long position() {
        return written + used;
    }

    void bytes(byte[] b) throws IOException {
        for (int off = 0; off < b.length; ) {
            room(1);
            int n = (int) Math.min(b.length - off, BUFFER - used);
            MemorySegment.copy(b, off, buffer, ValueLayout.JAVA_BYTE, used, n);
            used += n;
            off += n;
        }
    }

    void zeros(long n) throws IOException {
        bytes(new byte[Math.toIntExact(n)]);
    }

    /** Encodes one row of {@code count} values as {@code type}. */
    void row(DType type, float[] values, int count) throws IOException {
        long size = type.bytesFor(count);
        if (size > BUFFER) throw new IOException(path + ": a row of " + size + " bytes exceeds the write buffer");
        room(size);
        used += RowEncoder.encode(type, values, count, buffer, used);
    }

    private void room(long n) throws IOException {
        if (used + n <= BUFFER) return;
        var bb = buffer.asSlice(0, used).asByteBuffer();
        while (bb.hasRemaining()) channel.write(bb);
        written += used;
        used = 0;
    }

    /** Writes out what is buffered and moves the whole file into place. */
    void commit() throws IOException {
        room(BUFFER);   // flushes
        channel.close();
        replacing.commit();
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
            replacing.close();
        } finally {
            arena.close();
        }
    }
}
