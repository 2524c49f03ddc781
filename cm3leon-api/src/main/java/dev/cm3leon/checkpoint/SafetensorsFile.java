package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One memory-mapped {@code .safetensors} file. The header is validated in full before any tensor is handed out:
 * header length against the file size, well-formed UTF-8 JSON, known dtypes, shape × dtype = byte range, ranges inside
 * the data section and not overlapping. Tensors are views of the mapping, valid until {@link #close()}.
 */
public final class SafetensorsFile implements TensorSource {
    /** Headers larger than this are refused before they are read (real checkpoints have headers of a few hundred KB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Strict JSON for every checkpoint file: duplicate keys and content after the value are errors, as in serde. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path path;
    private final Arena arena;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private final MappedFileWatch watch;

    private SafetensorsFile(Path path, Arena arena, Map<String, Tensor> tensors, Map<String, String> metadata,
                            MappedFileWatch watch) {
        this.path = path;
        this.arena = arena;
        this.tensors = tensors;
        this.metadata = metadata;
        this.watch = watch;
    }

    /** Maps and validates {@code path}; throws {@link CheckpointException} naming the file on any defect. */
    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            if (fileSize < 8) {
                throw CheckpointException.of(path, "file is " + fileSize + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lenBuf, 0, path);
            long headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > fileSize - 8) {
                throw CheckpointException.of(path, "header length " + Long.toUnsignedString(headerLen)
                        + " does not fit in a file of " + fileSize + " bytes");
            }
            if (headerLen > MAX_HEADER_BYTES) {
                throw CheckpointException.of(path, "header length " + headerLen + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
            }
            // The format's header is a JSON object: a file that starts otherwise is refused before a large read.
            ByteBuffer first = ByteBuffer.allocate(1);
            readFully(channel, first, 8, path);
            if (first.get(0) != '{') {
                throw CheckpointException.of(path, "header does not start with '{' (byte 0x"
                        + Integer.toHexString(first.get(0) & 0xFF) + ")");
            }
            byte[] header = new byte[(int) headerLen];
            readFully(channel, ByteBuffer.wrap(header), 8, path);
            requireUtf8(header, path);
            MemorySegment whole = fileSize == 0 ? MemorySegment.NULL
                    : channel.map(FileChannel.MapMode.READ_ONLY, 0, fileSize, arena);
            long dataStart = 8 + headerLen;
            MemorySegment dataSection = whole.asSlice(dataStart, fileSize - dataStart);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Tensor> tensors = parseHeader(path, header, dataSection, metadata);
            return new SafetensorsFile(path, arena, tensors, metadata, MappedFileWatch.of(path, fileSize));
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Throws if the file was cut short in place since it was mapped (see {@link MappedFileWatch}). */
    @Override
    public void requireIntact() {
        watch.requireIntact();
    }

    private static void readFully(FileChannel channel, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, pos);
            if (n < 0) throw CheckpointException.of(path, "file ends inside the header");
            pos += n;
        }
    }

    /** Validates in small chunks: a header may be 100 MB, and a decoded copy would double or triple that. */
    private static void requireUtf8(byte[] bytes, Path path) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(8192);
        CoderResult result;
        do {
            out.clear();
            result = decoder.decode(in, out, true);
        } while (result.isOverflow());
        if (!result.isError()) {
            out.clear();
            result = decoder.flush(out);
        }
        if (result.isError()) {
            throw CheckpointException.of(path, "header is not valid UTF-8 (at byte " + (8 + in.position()) + ")");
        }
    }

    private static Map<String, Tensor> parseHeader(Path path, byte[] header, MemorySegment data, Map<String, String> metadata) {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (IOException e) {
            throw CheckpointException.of(path, "header is not well-formed JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || !root.isObject()) {
            throw CheckpointException.of(path, "header must be a JSON object");
        }
        record Range(String name, long begin, long end) {}
        List<Range> ranges = new ArrayList<>();
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode node = e.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) throw CheckpointException.of(path, "__metadata__ must be an object of strings");
                node.properties().forEach(m -> {
                    if (!m.getValue().isTextual()) {
                        throw CheckpointException.of(path, "__metadata__." + m.getKey() + " must be a string");
                    }
                    metadata.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            if (!node.isObject()) throw CheckpointException.of(path, "tensor '" + name + "': entry must be an object");
            JsonNode dtypeNode = node.get("dtype");
            if (dtypeNode == null || !dtypeNode.isTextual()) {
                throw CheckpointException.of(path, "tensor '" + name + "': missing string field 'dtype'");
            }
            DType dtype = DType.fromSafetensors(dtypeNode.asText()).orElseThrow(() -> CheckpointException.of(path,
                    "tensor '" + name + "': unknown dtype '" + dtypeNode.asText() + "'"));
            long[] shape = parseShape(path, name, node.get("shape"));
            JsonNode offs = node.get("data_offsets");
            if (offs == null || !offs.isArray() || offs.size() != 2 || !offs.get(0).canConvertToLong()
                    || !offs.get(1).canConvertToLong() || !offs.get(0).isIntegralNumber() || !offs.get(1).isIntegralNumber()) {
                throw CheckpointException.of(path, "tensor '" + name + "': 'data_offsets' must be two integers [begin, end]");
            }
            long begin = offs.get(0).asLong();
            long end = offs.get(1).asLong();
            if (begin < 0 || end < begin || end > data.byteSize()) {
                throw CheckpointException.of(path, "tensor '" + name + "': data_offsets [" + begin + ", " + end
                        + "] fall outside the data section of " + data.byteSize() + " bytes");
            }
            long expected;
            try {
                expected = Math.multiplyExact(Tensor.elementCount(shape), (long) dtype.byteSize());
            } catch (ArithmeticException ex) {
                throw CheckpointException.of(path, "tensor '" + name + "': shape is too large");
            }
            if (expected != end - begin) {
                throw CheckpointException.of(path, "tensor '" + name + "': shape " + java.util.Arrays.toString(shape)
                        + " × " + dtype + " is " + expected + " bytes but data_offsets span " + (end - begin));
            }
            ranges.add(new Range(name, begin, end));
            tensors.put(name, new Tensor(name, dtype, shape, data.asSlice(begin, end - begin)));
        }
        ranges.sort(Comparator.comparingLong(Range::begin).thenComparingLong(Range::end));
        for (int i = 1; i < ranges.size(); i++) {
            Range prev = ranges.get(i - 1), cur = ranges.get(i);
            if (cur.begin() < prev.end() && cur.end() > cur.begin()) {
                throw CheckpointException.of(path, "tensors '" + prev.name() + "' and '" + cur.name()
                        + "' overlap in the data section");
            }
        }
        return Collections.unmodifiableMap(tensors);
    }

    private static long[] parseShape(Path path, String name, JsonNode node) {
        if (node == null || !node.isArray()) {
            throw CheckpointException.of(path, "tensor '" + name + "': missing array field 'shape'");
        }
        long[] shape = new long[node.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = node.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                throw CheckpointException.of(path, "tensor '" + name + "': shape[" + i + "] = " + d + " is not a non-negative integer");
            }
            shape[i] = d.asLong();
        }
        return shape;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public Path path() {
        return path;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
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
