package dev.cm3leon.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF (version 3) file: metadata, tensor infos, then each tensor's rows streamed from a {@link Rows} callback
 * and encoded in the tensor's type (F32, F16, BF16, Q8_0, Q4_0), each tensor aligned to 32 bytes.
 *
 * <p>Metadata values map to GGUF types as llama.cpp writes them: Integer → UINT32 (INT32 when negative), Long →
 * UINT64, Float → FLOAT32, Double → FLOAT64, Boolean, String, {@code List<String>} → string array, int[] → INT32
 * array, float[] → FLOAT32 array.
 */
public final class GgufWriter {
    private final Map<String, Object> metadata = new LinkedHashMap<>();
    private final List<Entry> tensors = new ArrayList<>();

    private record Entry(String name, DType type, long[] shape) {
    }

    public GgufWriter put(String key, Object value) {
        metadata.put(key, value);
        return this;
    }

    /** A tensor of row-major {@code shape} (written innermost dimension first, as GGUF wants). */
    public GgufWriter tensor(String name, DType type, long... shape) {
        GgmlType.of(type);
        type.bytesFor(Tensor.elementCount(shape));
        tensors.add(new Entry(name, type, shape.clone()));
        return this;
    }

    /** Fills {@code dst} with row {@code r} of the tensor named {@code name} (its GGUF name). */
    @FunctionalInterface
    public interface Rows {
        void row(String name, long r, float[] dst);
    }

    public void write(Path file, Rows rows) {
        Bytes h = new Bytes();
        h.u32(GgufFile.MAGIC).u32(3).u64(tensors.size()).u64(metadata.size());
        metadata.forEach((k, v) -> h.string(k).value(k, v));
        long offset = 0;
        for (Entry e : tensors) {
            h.string(e.name).u32(e.shape.length);
            for (int d = e.shape.length - 1; d >= 0; d--) h.u64(e.shape[d]);
            h.u32(GgmlType.of(e.type).id).u64(offset);
            offset = align(offset + e.type.bytesFor(Tensor.elementCount(e.shape)));
        }
        byte[] header = h.toByteArray();
        try (ChunkedOutput out = new ChunkedOutput(file)) {
            out.bytes(header);
            out.zeros(align(header.length) - header.length);
            long dataStart = out.position();
            for (Entry e : tensors) {
                int len = RowSource.rowLength(e.shape);
                float[] row = new float[len];
                for (long r = 0, n = RowSource.rows(e.shape); r < n; r++) {
                    rows.row(e.name, r, row);
                    out.row(e.type, row, len);
                }
                long at = out.position() - dataStart;
                out.zeros(align(at) - at);
            }
            out.commit();
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + e.getMessage(), e);
        }
    }

    private static long align(long n) {
        return (n + GgufFile.DEFAULT_ALIGNMENT - 1) / GgufFile.DEFAULT_ALIGNMENT * GgufFile.DEFAULT_ALIGNMENT;
    }

    /** A little-endian byte builder for the header. */
    private static final class Bytes extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Bytes u32(int v) {
            write(scratch.clear().putInt(v).array(), 0, 4);
            return this;
        }

        Bytes u64(long v) {
            write(scratch.clear().putLong(v).array(), 0, 8);
            return this;
        }

        Bytes string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            write(b, 0, b.length);
            return this;
        }

        Bytes value(String key, Object v) {
            switch (v) {
                case Integer i -> u32(i < 0 ? 5 : 4).u32(i);
                case Long l -> u32(10).u64(l);
                case Float f -> u32(6).u32(Float.floatToRawIntBits(f));
                case Double d -> u32(12).u64(Double.doubleToRawLongBits(d));
                case Boolean b -> {
                    u32(7);
                    write(b ? 1 : 0);
                }
                case String s -> u32(8).string(s);
                case int[] a -> {
                    u32(9).u32(5).u64(a.length);
                    for (int x : a) u32(x);
                }
                case float[] a -> {
                    u32(9).u32(6).u64(a.length);
                    for (float x : a) u32(Float.floatToRawIntBits(x));
                }
                case List<?> list -> {
                    u32(9).u32(8).u64(list.size());
                    for (Object o : list) string((String) o);
                }
                default -> throw new IllegalArgumentException("metadata '" + key + "': cannot write a " + v.getClass().getSimpleName());
            }
            return this;
        }
    }
}
