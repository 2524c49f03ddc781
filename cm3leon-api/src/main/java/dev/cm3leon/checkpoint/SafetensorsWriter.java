package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Writes a {@code .safetensors} file row by row from a {@link RowSource}: the header first (every size is known from
 * the shapes), then each tensor's rows encoded in its dtype, so the whole file never sits in memory.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {
    }

    /** Every tensor of {@code source} as {@code dtype}. */
    public static void write(Path file, RowSource source, DType dtype) {
        write(file, source, name -> dtype);
    }

    public static void write(Path file, RowSource source, Function<String, DType> dtypeOf) {
        ObjectNode header = SafetensorsFile.JSON.createObjectNode();
        long offset = 0;
        for (String name : source.names()) {
            DType type = dtypeOf.apply(name);
            if (type.safetensorsName() == null) throw new IllegalArgumentException("safetensors cannot hold " + type);
            long[] shape = source.shape(name);
            long bytes = type.bytesFor(Tensor.elementCount(shape));
            ObjectNode entry = header.putObject(name);
            entry.put("dtype", type.safetensorsName());
            ArrayNode s = entry.putArray("shape");
            for (long d : shape) s.add(d);
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        header.putObject("__metadata__").put("format", "pt");
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;   // data starts 8-byte aligned
        try (ChunkedOutput out = new ChunkedOutput(file)) {
            byte[] len = new byte[8];
            for (int i = 0; i < 8; i++) len[i] = (byte) ((long) padded >>> (8 * i));
            out.bytes(len);
            out.bytes(json);
            out.bytes(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
            for (String name : source.names()) {
                long[] shape = source.shape(name);
                int len1 = RowSource.rowLength(shape);
                float[] row = new float[len1];
                DType type = dtypeOf.apply(name);
                for (long r = 0, rows = RowSource.rows(shape); r < rows; r++) {
                    source.row(name, r, row);
                    out.row(type, row, len1);
                }
            }
            out.commit();
        } catch (IOException e) {
            throw new CheckpointException(file + ": cannot write: " + e.getMessage(), e);
        }
    }
}
