package dev.cm3leon.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the corpus's files. Data sections are left sparse: a hostile header is refused before any weight is read,
 * so hundreds of full-size checkpoints cost a few kilobytes of disk each.
 */
final class HostileFiles {
    static final ObjectMapper JSON = new ObjectMapper();

    private HostileFiles() {
    }

    /** {@code prefix}, then zeros up to {@code length} bytes that take no disk space. */
    static Path sparse(Path file, byte[] prefix, long length) {
        try {
            Files.createDirectories(file.getParent());
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(0);
                raf.write(prefix, 0, (int) Math.min(prefix.length, length));
                raf.setLength(length);
            }
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A safetensors file: the 8-byte length, the header, and a sparse data section of {@code dataLength} bytes. */
    static Path safetensors(Path file, byte[] header, long dataLength) {
        return sparse(file, withLength(header.length, header), 8L + header.length + dataLength);
    }

    static Path safetensors(Path file, JsonNode header, long dataLength) {
        return safetensors(file, bytes(header), dataLength);
    }

    static byte[] withLength(long declaredLength, byte[] header) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(header);
        return b.array();
    }

    static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectNode readObject(Path file) {
        try {
            return (ObjectNode) JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static ObjectNode parseObject(byte[] json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Path file, byte[] content) {
        try {
            Files.createDirectories(file.getParent());
            return Files.write(file, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Path file, JsonNode json) {
        return write(file, bytes(json));
    }

    static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Replaces the first occurrence of {@code what} in {@code bytes}. */
    static byte[] splice(byte[] bytes, byte[] what, byte[] with) {
        outer:
        for (int i = 0; i + what.length <= bytes.length; i++) {
            for (int j = 0; j < what.length; j++) if (bytes[i + j] != what[j]) continue outer;
            byte[] out = new byte[bytes.length - what.length + with.length];
            System.arraycopy(bytes, 0, out, 0, i);
            System.arraycopy(with, 0, out, i, with.length);
            System.arraycopy(bytes, i + what.length, out, i + with.length, bytes.length - i - what.length);
            return out;
        }
        throw new IllegalArgumentException("not found");
    }
}
