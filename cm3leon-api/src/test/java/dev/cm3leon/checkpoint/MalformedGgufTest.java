package dev.cm3leon.checkpoint;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Each validation of the GGUF reader, broken by a crafted file, ends in a message naming the defect. */
class MalformedGgufTest {
    @TempDir Path dir;

    static Stream<Arguments> brokenFiles() {
        return Stream.of(
                Arguments.of("too short", (Consumer<ByteBuffer>) b -> b.put((byte) 'G'), "too short"),
                Arguments.of("bad magic", header(0x12345678, 3, 0, 0), "bad magic"),
                Arguments.of("version 1", header(GgufFile.MAGIC, 1, 0, 0), "version 1"),
                Arguments.of("huge tensor count", header(GgufFile.MAGIC, 3, 1L << 40, 0), "tensor count"),
                Arguments.of("truncated metadata", header(GgufFile.MAGIC, 3, 0, 1).andThen(b -> b.putLong(10_000)), "file ends inside"),
                Arguments.of("unknown value type", header(GgufFile.MAGIC, 3, 0, 1).andThen(str("k")).andThen(b -> b.putInt(99)), "unknown value type 99"),
                Arguments.of("unknown tensor type", header(GgufFile.MAGIC, 3, 1, 0).andThen(tensor("w", 77, 0, 4)), "unknown GGML type 77"),
                Arguments.of("misaligned tensor", header(GgufFile.MAGIC, 3, 1, 0).andThen(tensor("w", 0, 3, 4)), "not an aligned range"),
                Arguments.of("tensor past the end", header(GgufFile.MAGIC, 3, 1, 0).andThen(tensor("w", 0, 0, 1 << 20)), "not an aligned range"),
                Arguments.of("partial Q8_0 block", header(GgufFile.MAGIC, 3, 1, 0).andThen(tensor("w", 8, 0, 20)), "whole Q8_0 blocks"),
                Arguments.of("overlapping tensors", header(GgufFile.MAGIC, 3, 2, 0).andThen(tensor("a", 0, 0, 8)).andThen(tensor("b", 0, 0, 8)), "overlap"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenFiles")
    void brokenFilesAreRefusedWithTheReason(String name, Consumer<ByteBuffer> content, String message) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        content.accept(b);
        if (b.position() > 1) b.position(Math.max(b.position(), 256));   // room for small tensor data
        Path f = dir.resolve(name.replace(' ', '_') + ".gguf");
        Files.write(f, java.util.Arrays.copyOf(b.array(), b.position()));
        assertThatThrownBy(() -> GgufFile.open(f).close()).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining(message);
    }

    private static Consumer<ByteBuffer> header(int magic, int version, long tensors, long kvs) {
        return b -> b.putInt(magic).putInt(version).putLong(tensors).putLong(kvs);
    }

    private static Consumer<ByteBuffer> str(String s) {
        return b -> {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            b.putLong(bytes.length).put(bytes);
        };
    }

    /** A 1-D tensor of {@code n} elements. */
    private static Consumer<ByteBuffer> tensor(String name, int type, long offset, long n) {
        return str(name).andThen(b -> b.putInt(1).putLong(n).putInt(type).putLong(offset));
    }
}
