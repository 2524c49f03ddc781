package dev.cm3leon.checkpoint;

import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static dev.cm3leon.testing.SafetensorsBytes.f32;
import static dev.cm3leon.testing.SafetensorsBytes.f32Entry;
import static dev.cm3leon.testing.SafetensorsBytes.file;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every validation of the safetensors reader, each broken by a crafted file, ends in a message naming the defect. */
class MalformedCheckpointTest {
    @TempDir Path dir;

    static Stream<Arguments> brokenFiles() {
        byte[] data = f32(1, 2, 3, 4);
        String ok = f32Entry("w", new long[]{2, 2}, 0, 16);
        return Stream.of(
                Arguments.of("shorter than the header length", new byte[]{1, 2, 3}, "shorter than the 8-byte header length"),
                Arguments.of("header length beyond the file", lengthOnly(1000, 20), "does not fit in a file"),
                Arguments.of("negative header length", lengthOnly(-5, 20), "does not fit in a file"),
                Arguments.of("invalid UTF-8", file(new byte[]{'{', (byte) 0xC3, (byte) 0x28, '}'}, data), "not valid UTF-8"),
                Arguments.of("invalid JSON", file("{\"w\": {", data), "not well-formed JSON"),
                Arguments.of("header not an object", file("[1,2]", data), "header does not start with '{'"),
                Arguments.of("duplicate tensor", file("{" + ok + "," + ok + "}", data), "not well-formed JSON"),
                Arguments.of("unknown dtype", file("{\"w\":{\"dtype\":\"F8_E9\",\"shape\":[4],\"data_offsets\":[0,16]}}", data), "unknown dtype 'F8_E9'"),
                Arguments.of("missing dtype", file("{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}", data), "'dtype'"),
                Arguments.of("shape × dtype ≠ range", file("{" + f32Entry("w", new long[]{3, 2}, 0, 16) + "}", data), "tensor 'w': shape [3, 2] × F32 is 24 bytes"),
                Arguments.of("range outside the data", file("{" + f32Entry("w", new long[]{2, 4}, 0, 32) + "}", data), "fall outside the data section"),
                Arguments.of("begin after end", file("{" + f32Entry("w", new long[]{0}, 12, 8) + "}", data), "fall outside the data section"),
                Arguments.of("overlapping tensors", file("{" + f32Entry("a", new long[]{2, 2}, 0, 16) + "," + f32Entry("b", new long[]{2}, 8, 16) + "}", data), "overlap"),
                Arguments.of("negative dim", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", data), "shape[0] = -4"),
                Arguments.of("huge dims", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904],\"data_offsets\":[0,16]}}", data), "too large"),
                Arguments.of("fractional offsets", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0.5,16]}}", data), "'data_offsets' must be two integers"),
                Arguments.of("metadata not strings", file("{\"__metadata__\":{\"a\":1}," + ok + "}", data), "__metadata__.a must be a string"));
    }

    private static byte[] lengthOnly(long headerLen, int total) {
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen);
        return b.array();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenFiles")
    void brokenSafetensorsFailWithAMessageNamingTheFileAndDefect(String name, byte[] bytes, String expected) throws IOException {
        Path f = dir.resolve("broken.safetensors");
        Files.write(f, bytes);
        assertThatThrownBy(() -> SafetensorsFile.open(f))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining(expected);
    }

    @Test
    void validFileIsReadInItsStoredDtype() throws IOException {
        Path f = dir.resolve("ok.safetensors");
        Files.write(f, file("{\"__metadata__\":{\"format\":\"pt\"}," + f32Entry("w", new long[]{2, 2}, 0, 16) + "}", f32(1, 2, 3, 4)));
        try (SafetensorsFile st = SafetensorsFile.open(f)) {
            assertThat(st.metadata()).containsEntry("format", "pt");
            assertThat(st.require("w").toFloatArray()).containsExactly(1, 2, 3, 4);
            assertThat(st.require("w").dtype()).isEqualTo(DType.F32);
        }
    }

    @Test
    void hugeHeaderIsRefusedBeforeItIsRead() throws IOException {
        Path f = dir.resolve("huge-header.safetensors");
        long len = SafetensorsFile.MAX_HEADER_BYTES + 1;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(len).array());
            raf.setLength(8 + len + 16); // sparse: nothing is written
        }
        assertThatThrownBy(() -> SafetensorsFile.open(f)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("exceeds the limit");
    }

    @Test
    void truncatedFixtureFailsCleanlyAtEveryCut() throws IOException {
        byte[] whole = Files.readAllBytes(Fixtures.path("chameleon/model/model.safetensors"));
        long headerLen = ByteBuffer.wrap(whole, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        long[] cuts = {0, 4, 8, 9, 8 + headerLen / 2, 8 + headerLen, 8 + headerLen + 1, whole.length / 2, whole.length - 1};
        for (long cut : cuts) {
            Path f = dir.resolve("cut-" + cut + ".safetensors");
            Files.write(f, java.util.Arrays.copyOf(whole, (int) cut));
            assertThatThrownBy(() -> SafetensorsFile.open(f)).as("cut at %d", cut)
                    .isInstanceOf(CheckpointException.class).hasMessageContaining(f.toString());
        }
    }

    // --- sharded checkpoints -------------------------------------------------------------------------------------

    private Path shardedFolder(String weightMap) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("sharded"));
        Files.write(folder.resolve("a.safetensors"), file("{" + f32Entry("x", new long[]{2}, 0, 8) + "}", f32(1, 2)));
        Files.write(folder.resolve("b.safetensors"), file("{" + f32Entry("y", new long[]{2}, 0, 8) + "}", f32(3, 4)));
        Files.writeString(folder.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\":" + weightMap + "}");
        return folder;
    }

    @Test
    void shardedCheckpointJoinsItsShards() throws IOException {
        Path folder = shardedFolder("{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}");
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(folder)) {
            assertThat(ck.tensors()).containsOnlyKeys("x", "y");
            assertThat(ck.require("y").toFloatArray()).containsExactly(3, 4);
        }
    }

    @Test
    void missingShardIsNamed() throws IOException {
        Path folder = shardedFolder("{\"x\":\"a.safetensors\",\"y\":\"c.safetensors\"}");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(folder)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("shard 'c.safetensors' is missing");
    }

    @Test
    void shardPathEscapingTheFolderIsRefused() throws IOException {
        Files.write(dir.resolve("outside.safetensors"), file("{" + f32Entry("z", new long[]{1}, 0, 4) + "}", f32(9)));
        for (String escape : new String[]{"../outside.safetensors", dir.resolve("outside.safetensors").toString()}) {
            Path folder = shardedFolder("{\"x\":\"a.safetensors\",\"z\":\"" + escape + "\"}");
            assertThatThrownBy(() -> SafetensorsCheckpoint.open(folder)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("escapes the checkpoint folder");
        }
    }

    @Test
    void shardsLinkedIntoAHubCacheBlobsFolderLoad() throws IOException {
        // The Hugging Face hub cache: models--x/snapshots/<rev>/<shard> -> ../../blobs/<sha>
        Path repo = dir.resolve("models--org--tiny");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots/0123abcd"));
        Files.write(blobs.resolve("a1b2"), file("{" + f32Entry("x", new long[]{2}, 0, 8) + "}", f32(1, 2)));
        Files.createSymbolicLink(snapshot.resolve("a.safetensors"), Path.of("../../blobs/a1b2"));
        Files.writeString(snapshot.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\":{\"x\":\"a.safetensors\"}}");
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(snapshot)) {
            assertThat(ck.require("x").toFloatArray()).containsExactly(1, 2);
        }
        Files.write(dir.resolve("elsewhere"), file("{" + f32Entry("x", new long[]{2}, 0, 8) + "}", f32(1, 2)));
        Files.delete(snapshot.resolve("a.safetensors"));
        Files.createSymbolicLink(snapshot.resolve("a.safetensors"), dir.resolve("elsewhere"));
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(snapshot)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("links outside the checkpoint folder");
    }

    @Test
    void tensorInTwoShardsIsRefused() throws IOException {
        Path folder = shardedFolder("{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}");
        Files.write(folder.resolve("b.safetensors"), file("{" + f32Entry("x", new long[]{2}, 0, 8) + "," + f32Entry("y", new long[]{2}, 8, 16) + "}", f32(1, 2, 3, 4)));
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(folder)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'x' also appears in another shard");
    }

    @Test
    void indexedTensorAbsentFromItsShardIsNamed() throws IOException {
        Path folder = shardedFolder("{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\",\"q\":\"b.safetensors\"}");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(folder)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'q' is listed in shard 'b.safetensors'");
    }

    @Test
    void brokenIndexIsNamed() throws IOException {
        Path folder = shardedFolder("{\"x\":\"a.safetensors\"}");
        Files.writeString(folder.resolve(SafetensorsCheckpoint.INDEX_FILE), "{\"weight_map\": [");
        assertThatThrownBy(() -> SafetensorsCheckpoint.open(folder)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(SafetensorsCheckpoint.INDEX_FILE);
    }

    @Test
    void textIsNeverMistakenForAHeader() throws IOException {
        Path f = dir.resolve("text.safetensors");
        Files.writeString(f, "this is not a checkpoint at all", StandardCharsets.UTF_8);
        assertThatThrownBy(() -> SafetensorsFile.open(f)).isInstanceOf(CheckpointException.class);
    }
}
