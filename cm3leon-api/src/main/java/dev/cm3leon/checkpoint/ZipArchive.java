package dev.cm3leon.checkpoint;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A memory-mapped zip archive (with ZIP64), read from its central directory. Entries stored uncompressed are handed
 * out as views of the mapping, which is how PyTorch writes its checkpoints (and aligns their storages); deflated
 * entries are inflated into the heap, their declared size bounded by what deflate can reach from the compressed size
 * and checked against their CRC. Every offset and length is checked against the file before use.
 */
final class ZipArchive implements AutoCloseable {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int EOCD = 0x06054b50, ZIP64_LOCATOR = 0x07064b50, ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50, LOCAL = 0x04034b50;
    private static final int MAX_ENTRIES = 1 << 20;
    /** Deflate cannot expand more than about 1032:1; a larger declared size is a lie. */
    private static final long MAX_DEFLATE_RATIO = 1100;
    private static final long MAX_INFLATED_BYTES = Integer.MAX_VALUE - 8;

    /** One member of the archive. */
    record Entry(String name, int method, long compressedSize, long size, long crc, long localHeaderOffset) {
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment file;
    private final Map<String, Entry> entries;
    private final MappedFileWatch watch;

    private ZipArchive(Path path, Arena arena, MemorySegment file, Map<String, Entry> entries) {
        this.path = path;
        this.arena = arena;
        this.file = file;
        this.entries = entries;
        this.watch = MappedFileWatch.of(path, file.byteSize());
    }

    /** Throws if the archive was cut short in place since it was mapped (see {@link MappedFileWatch}). */
    void requireIntact() {
        watch.requireIntact();
    }

    static ZipArchive open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 22) throw CheckpointException.of(path, "is " + size + " bytes, too short for a zip archive");
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new ZipArchive(path, arena, file, readDirectory(path, file));
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    Map<String, Entry> entries() {
        return entries;
    }

    Path path() {
        return path;
    }

    private static Map<String, Entry> readDirectory(Path path, MemorySegment f) {
        long size = f.byteSize();
        long eocd = -1;
        for (long p = size - 22; p >= Math.max(0, size - 22 - 0xFFFF); p--) {
            if (f.get(U32, p) == EOCD && p + 22 + u16(f, p + 20) <= size) {
                eocd = p;
                break;
            }
        }
        if (eocd < 0) throw CheckpointException.of(path, "not a zip archive (no end-of-central-directory record)");
        long count = u16(f, eocd + 10);
        long dirSize = u32(f, eocd + 12);
        long dirOffset = u32(f, eocd + 16);
        if (u16(f, eocd + 4) != 0 && u16(f, eocd + 4) != 0xFFFF) {
            throw CheckpointException.of(path, "multi-disk zip archives are not supported");
        }
        if (count == 0xFFFF || dirSize == 0xFFFFFFFFL || dirOffset == 0xFFFFFFFFL) {
            long locator = eocd - 20;
            if (locator < 0 || f.get(U32, locator) != ZIP64_LOCATOR) {
                throw CheckpointException.of(path, "ZIP64 archive without a ZIP64 locator");
            }
            long z = f.get(U64, locator + 8);
            if (z < 0 || z + 56 > locator || f.get(U32, z) != ZIP64_EOCD) {
                throw CheckpointException.of(path, "ZIP64 end-of-central-directory record out of place");
            }
            count = f.get(U64, z + 32);
            dirSize = f.get(U64, z + 40);
            dirOffset = f.get(U64, z + 48);
        }
        if (count < 0 || count > MAX_ENTRIES) throw CheckpointException.of(path, "declares " + Long.toUnsignedString(count) + " entries");
        if (dirOffset < 0 || dirSize < 0 || dirOffset + dirSize > eocd) {
            throw CheckpointException.of(path, "central directory (offset " + dirOffset + ", " + dirSize
                    + " bytes) lies outside the archive");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        long p = dirOffset, end = dirOffset + dirSize;
        for (long i = 0; i < count; i++) {
            if (p + 46 > end || f.get(U32, p) != CENTRAL) throw CheckpointException.of(path, "central directory entry " + i + " is malformed");
            int flags = u16(f, p + 8), method = u16(f, p + 10);
            long crc = u32(f, p + 16), comp = u32(f, p + 20), uncomp = u32(f, p + 24);
            int nameLen = u16(f, p + 28), extraLen = u16(f, p + 30), commentLen = u16(f, p + 32);
            long local = u32(f, p + 42);
            long next = p + 46 + nameLen + extraLen + commentLen;
            if (next > end) throw CheckpointException.of(path, "central directory entry " + i + " runs past the directory");
            String name = new String(f.asSlice(p + 46, nameLen).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
            if ((flags & 1) != 0) throw CheckpointException.of(path, "entry '" + name + "' is encrypted");
            // ZIP64 extra field: the 64-bit values, in this order, for the fields saturated at 0xFFFFFFFF.
            long e = p + 46 + nameLen, extraEnd = e + extraLen;
            while (e + 4 <= extraEnd) {
                int id = u16(f, e), len = u16(f, e + 2);
                if (e + 4 + len > extraEnd) throw CheckpointException.of(path, "entry '" + name + "': malformed extra field");
                if (id == 1) {
                    long q = e + 4, qEnd = q + len;
                    if (uncomp == 0xFFFFFFFFL) { uncomp = zip64Field(f, q, qEnd, path, name); q += 8; }
                    if (comp == 0xFFFFFFFFL) { comp = zip64Field(f, q, qEnd, path, name); q += 8; }
                    if (local == 0xFFFFFFFFL) local = zip64Field(f, q, qEnd, path, name);
                }
                e += 4 + len;
            }
            if (comp < 0 || uncomp < 0 || local < 0) throw CheckpointException.of(path, "entry '" + name + "': sizes out of range");
            if (entries.put(name, new Entry(name, method, comp, uncomp, crc, local)) != null) {
                throw CheckpointException.of(path, "entry '" + name + "' appears twice");
            }
            p = next;
        }
        return Collections.unmodifiableMap(entries);
    }

    private static long zip64Field(MemorySegment f, long q, long end, Path path, String name) {
        if (q + 8 > end) throw CheckpointException.of(path, "entry '" + name + "': ZIP64 extra field too short");
        return f.get(U64, q);
    }

    /** The bytes of an entry: a view of the mapping when stored, a heap copy when deflated. */
    MemorySegment data(Entry entry) {
        long lh = entry.localHeaderOffset;
        if (lh + 30 > file.byteSize() || file.get(U32, lh) != LOCAL) {
            throw CheckpointException.of(path, "entry '" + entry.name + "': local header missing at offset " + lh);
        }
        long start = lh + 30 + u16(file, lh + 26) + u16(file, lh + 28);
        if (start + entry.compressedSize > file.byteSize()) {
            throw CheckpointException.of(path, "entry '" + entry.name + "' (" + entry.compressedSize
                    + " bytes at offset " + start + ") runs past the end of the file: truncated archive?");
        }
        MemorySegment raw = file.asSlice(start, entry.compressedSize);
        return switch (entry.method) {
            case 0 -> {
                if (entry.compressedSize != entry.size) {
                    throw CheckpointException.of(path, "entry '" + entry.name + "' is stored but its sizes differ");
                }
                yield raw;
            }
            case 8 -> inflate(entry, raw);
            default -> throw CheckpointException.of(path, "entry '" + entry.name + "' uses compression method "
                    + entry.method + "; only stored (0) and deflate (8) are supported");
        };
    }

    private MemorySegment inflate(Entry entry, MemorySegment raw) {
        if (entry.size > MAX_INFLATED_BYTES || entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
            throw CheckpointException.of(path, "entry '" + entry.name + "' declares " + entry.size + " bytes from "
                    + entry.compressedSize + " compressed bytes; refusing to inflate it");
        }
        byte[] out = new byte[(int) entry.size];
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(raw.asByteBuffer());
            int n = 0;
            while (n < out.length) {
                int k = inflater.inflate(out, n, out.length - n);
                if (k == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) break;
                n += k;
            }
            if (n != out.length || !inflater.finished() && inflater.inflate(new byte[1]) > 0) {
                throw CheckpointException.of(path, "entry '" + entry.name + "' inflates to a size other than the "
                        + entry.size + " bytes it declares");
            }
        } catch (DataFormatException e) {
            throw CheckpointException.of(path, "entry '" + entry.name + "' is corrupt: " + e.getMessage());
        } finally {
            inflater.end();
        }
        CRC32 crc = new CRC32();
        crc.update(out);
        if (crc.getValue() != entry.crc) throw CheckpointException.of(path, "entry '" + entry.name + "' fails its CRC check");
        return MemorySegment.ofArray(out);
    }

    private static int u16(MemorySegment f, long at) {
        return f.get(U16, at) & 0xFFFF;
    }

    private static long u32(MemorySegment f, long at) {
        return f.get(U32, at) & 0xFFFFFFFFL;
    }

    @Override
    public void close() {
        arena.close();
    }
}
