package dev.cm3leon.checkpoint;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One memory-mapped GGUF file (versions 2 and 3), under the names llama.cpp gave its tensors. The header is validated
 * before any tensor is handed out: counts and lengths against the file size, known value and tensor types, each
 * tensor's byte range aligned, inside the data section and not overlapping another. Only the header's pages are
 * read; tensors are views of the mapping in their stored type (shape in row-major order: GGUF lists the innermost
 * dimension first, this class reverses it). Tensors of types this library cannot compute with (K-quants…) are
 * listed by {@link #unsupported()} and refused by {@link #require}.
 */
public final class GgufFile implements TensorSource {
    static final int MAGIC = 0x46554747;   // "GGUF" read as a little-endian uint32
    static final int DEFAULT_ALIGNMENT = 32;
    private static final int MAX_DIMS = 4;
    private static final int MAX_ARRAY_DEPTH = 4;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> unsupported;

    private GgufFile(Path path, Arena arena, int version, Map<String, Object> metadata, Map<String, Tensor> tensors,
                     Map<String, String> unsupported) {
        this.path = path;
        this.arena = arena;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.unsupported = unsupported;
    }

    /** Maps and validates {@code path}; throws {@link CheckpointException} naming the file on any defect. */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 24) throw CheckpointException.of(path, "file is " + size + " bytes, too short for a GGUF header");
            MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            GgufFile g = new Reader(path, file).read(arena);
            return g;
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Sequential reads of the header with bounds checks that name what was being read. */
    private static final class Reader {
        private final Path path;
        private final MemorySegment file;
        private long pos;

        Reader(Path path, MemorySegment file) {
            this.path = path;
            this.file = file;
        }

        GgufFile read(Arena arena) {
            if (u32("magic") != MAGIC) throw CheckpointException.of(path, "not a GGUF file (bad magic)");
            int version = u32("version");
            if (version != 2 && version != 3) throw CheckpointException.of(path, "GGUF version " + version + " is not supported (2 or 3)");
            long tensorCount = count(u64("tensor count"), 8, "tensor count");
            long kvCount = count(u64("metadata count"), 12, "metadata count");
            Map<String, Object> metadata = new LinkedHashMap<>();
            for (long i = 0; i < kvCount; i++) {
                String key = string("metadata key");
                int type = u32("type of '" + key + "'");
                if (metadata.put(key, value(type, key, 0)) != null) throw CheckpointException.of(path, "metadata key '" + key + "' appears twice");
            }
            int alignment = DEFAULT_ALIGNMENT;
            if (metadata.get("general.alignment") instanceof Long a) {
                if (a <= 0 || a > (1 << 20) || Long.bitCount(a) != 1) {
                    throw CheckpointException.of(path, "general.alignment " + a + " is not a power of two");
                }
                alignment = a.intValue();
            }
            record Info(String name, long[] shape, GgmlType type, long offset) {}
            List<Info> infos = new ArrayList<>();
            for (long i = 0; i < tensorCount; i++) {
                String name = string("tensor name");
                int dims = u32("dimension count of '" + name + "'");
                if (dims < 1 || dims > MAX_DIMS) throw CheckpointException.of(path, "tensor '" + name + "' has " + dims + " dimensions");
                long[] shape = new long[dims];
                for (int d = 0; d < dims; d++) {
                    long v = u64("dimension of '" + name + "'");
                    if (v < 0) throw CheckpointException.of(path, "tensor '" + name + "': dimension " + Long.toUnsignedString(v) + " is too large");
                    shape[dims - 1 - d] = v;   // GGUF lists ne[0] (the contiguous one) first
                }
                int typeId = u32("type of '" + name + "'");
                GgmlType type = GgmlType.ofId(typeId);
                if (type == null) throw CheckpointException.of(path, "tensor '" + name + "': unknown GGML type " + typeId);
                infos.add(new Info(name, shape, type, u64("offset of '" + name + "'")));
            }
            long dataStart = (pos + alignment - 1) / alignment * alignment;
            long dataSize = file.byteSize() - dataStart;
            if (dataSize < 0) throw CheckpointException.of(path, "file ends before its tensor data");
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> unsupported = new LinkedHashMap<>();
            record Range(String name, long begin, long end) {}
            List<Range> ranges = new ArrayList<>();
            for (Info t : infos) {
                long elements;
                try {
                    elements = Tensor.elementCount(t.shape);
                } catch (ArithmeticException e) {
                    throw CheckpointException.of(path, "tensor '" + t.name + "': shape is too large");
                }
                long rowLength = t.shape[t.shape.length - 1];
                if (rowLength % t.type.blockSize != 0) {
                    throw CheckpointException.of(path, "tensor '" + t.name + "': rows of " + rowLength + " are not whole "
                            + t.type + " blocks of " + t.type.blockSize);
                }
                long bytes = elements / t.type.blockSize * t.type.blockBytes;
                if (t.offset < 0 || t.offset % alignment != 0 || t.offset > dataSize || bytes > dataSize - t.offset) {
                    throw CheckpointException.of(path, "tensor '" + t.name + "': " + bytes + " bytes at offset "
                            + Long.toUnsignedString(t.offset) + " are not an aligned range inside the data section of " + dataSize + " bytes");
                }
                if (tensors.containsKey(t.name) || unsupported.containsKey(t.name)) {
                    throw CheckpointException.of(path, "tensor '" + t.name + "' appears twice");
                }
                ranges.add(new Range(t.name, t.offset, t.offset + bytes));
                if (t.type.dtype == null) {
                    unsupported.put(t.name, t.type.name());
                } else {
                    tensors.put(t.name, new Tensor(t.name, t.type.dtype, t.shape, file.asSlice(dataStart + t.offset, bytes)));
                }
            }
            ranges.sort(Comparator.comparingLong(Range::begin));
            for (int i = 1; i < ranges.size(); i++) {
                if (ranges.get(i).begin < ranges.get(i - 1).end && ranges.get(i).end > ranges.get(i).begin) {
                    throw CheckpointException.of(path, "tensors '" + ranges.get(i - 1).name + "' and '" + ranges.get(i).name + "' overlap");
                }
            }
            return new GgufFile(path, arena, version, Collections.unmodifiableMap(metadata),
                    Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(unsupported));
        }

        private Object value(int type, String key, int depth) {
            return switch (type) {
                case 0 -> (long) Byte.toUnsignedInt(bytes(1, key).get(ValueLayout.JAVA_BYTE, 0));
                case 1 -> (long) bytes(1, key).get(ValueLayout.JAVA_BYTE, 0);
                case 2 -> (long) Short.toUnsignedInt(bytes(2, key).get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0));
                case 3 -> (long) bytes(2, key).get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
                case 4 -> Integer.toUnsignedLong(u32(key));
                case 5 -> (long) u32(key);
                case 6 -> (double) Float.intBitsToFloat(u32(key));
                case 7 -> {
                    byte b = bytes(1, key).get(ValueLayout.JAVA_BYTE, 0);
                    if (b != 0 && b != 1) throw CheckpointException.of(path, "metadata '" + key + "': boolean byte " + b);
                    yield b == 1;
                }
                case 8 -> string(key);
                case 9 -> {
                    if (depth >= MAX_ARRAY_DEPTH) throw CheckpointException.of(path, "metadata '" + key + "': arrays nested too deeply");
                    int elementType = u32(key);
                    long n = count(u64(key), 1, "length of '" + key + "'");
                    List<Object> list = new ArrayList<>((int) Math.min(n, 1 << 20));
                    for (long i = 0; i < n; i++) list.add(value(elementType, key, depth + 1));
                    yield Collections.unmodifiableList(list);
                }
                case 10, 11 -> u64(key);
                case 12 -> Double.longBitsToDouble(u64(key));
                default -> throw CheckpointException.of(path, "metadata '" + key + "': unknown value type " + type);
            };
        }

        /** A count of items of at least {@code minBytes} each: it cannot exceed what is left of the file. */
        private long count(long n, int minBytes, String what) {
            if (n < 0 || n > (file.byteSize() - pos) / minBytes) {
                throw CheckpointException.of(path, what + " " + Long.toUnsignedString(n) + " does not fit in the file");
            }
            return n;
        }

        private MemorySegment bytes(long n, String what) {
            if (n < 0 || n > file.byteSize() - pos) throw CheckpointException.of(path, "file ends inside " + what);
            MemorySegment s = file.asSlice(pos, n);
            pos += n;
            return s;
        }

        private int u32(String what) {
            return bytes(4, what).get(U32, 0);
        }

        private long u64(String what) {
            return bytes(8, what).get(U64, 0);
        }

        private String string(String what) {
            long len = u64(what);
            if (len < 0 || len > Integer.MAX_VALUE - 8) throw CheckpointException.of(path, what + ": string length " + Long.toUnsignedString(len));
            byte[] b = bytes(len, what).toArray(ValueLayout.JAVA_BYTE);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(java.nio.ByteBuffer.wrap(b)).toString();
            } catch (CharacterCodingException e) {
                throw CheckpointException.of(path, what + " is not valid UTF-8");
            }
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    /** Metadata values: integers as Long, floats as Double, Boolean, String, arrays as List. */
    public Map<String, Object> metadata() {
        return metadata;
    }

    public Optional<Long> integer(String key) {
        Object v = metadata.get(key);
        if (v == null) return Optional.empty();
        if (v instanceof Long l) return Optional.of(l);
        throw CheckpointException.of(path, "metadata '" + key + "' must be an integer, found " + v);
    }

    public Optional<Double> number(String key) {
        Object v = metadata.get(key);
        if (v == null) return Optional.empty();
        if (v instanceof Double d) return Optional.of(d);
        if (v instanceof Long l) return Optional.of(l.doubleValue());
        throw CheckpointException.of(path, "metadata '" + key + "' must be a number, found " + v);
    }

    public Optional<String> string(String key) {
        Object v = metadata.get(key);
        if (v == null) return Optional.empty();
        if (v instanceof String s) return Optional.of(s);
        throw CheckpointException.of(path, "metadata '" + key + "' must be a string, found " + v);
    }

    /** Tensors whose GGML type this library cannot compute with, by name → type. */
    public Map<String, String> unsupported() {
        return unsupported;
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public Tensor require(String name) {
        if (unsupported.containsKey(name)) {
            throw CheckpointException.of(path, "tensor '" + name + "' is stored as " + unsupported.get(name)
                    + ", which is not supported (F32, F16, BF16, Q8_0, Q4_0)");
        }
        return TensorSource.super.require(name);
    }

    @Override
    public String describe() {
        return path.toString();
    }

    @Override
    public void close() {
        arena.close();
    }
}
