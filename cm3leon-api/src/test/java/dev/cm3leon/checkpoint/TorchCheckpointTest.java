package dev.cm3leon.checkpoint;

import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The restricted PyTorch checkpoint reader: Meta's vqgan.ckpt read exactly, hostile or broken archives refused. */
class TorchCheckpointTest {
    @TempDir
    Path tmp;

    @Test
    void readsMetasCheckpointBitIdenticalToItsSafetensorsTwin() {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(Fixtures.path("vqgan/vqgan.ckpt"));
             SafetensorsFile st = SafetensorsFile.open(Fixtures.path("vqgan/vqgan.safetensors"))) {
            assertThat(ckpt.tensors().keySet()).isEqualTo(st.tensors().keySet()).hasSize(201);
            for (Tensor expected : st.tensors().values()) {
                Tensor actual = ckpt.require(expected.name());
                assertThat(actual.dtype()).isEqualTo(expected.dtype());
                assertThat(actual.shape()).isEqualTo(expected.shape());
                assertThat(actual.data().mismatch(expected.data())).as(expected.name()).isEqualTo(-1L);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readsStoredAndDeflatedStoragesWithOffsets(boolean deflate) {
        byte[] pickle = TorchArchives.stateDict("w", 8, 2, new long[]{2, 3}, new long[]{3, 1});
        Path file = TorchArchives.write(tmp.resolve("t.ckpt"), pickle,
                Map.of("0", TorchArchives.floats(0, 1, 2, 3, 4, 5, 6, 7)), deflate);
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(file)) {
            Tensor w = ckpt.require("w");
            assertThat(w.shape()).containsExactly(2, 3);
            assertThat(w.toFloatArray()).containsExactly(2, 3, 4, 5, 6, 7);
        }
    }

    @Test
    void refusesAPickleThatCallsOsSystem() {
        byte[] pickle = new TorchArchives.Pickle().proto().op('}').str("w")
                .global("os", "system").mark().str("echo pwned").op('t').op('R').op('s').op('.').bytes();
        Path file = TorchArchives.write(tmp.resolve("evil.ckpt"), pickle, Map.of(), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file))
                .isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("'os.system'")
                .hasMessageContaining("not allowed");
    }

    @Test
    void refusesBuiltinsEvalReachedThroughStackGlobal() {
        byte[] pickle = new TorchArchives.Pickle().op(0x80).op(4).str("builtins").str("eval").op(0x93)
                .mark().str("1+1").op('t').op('R').op('.').bytes();
        Path file = TorchArchives.write(tmp.resolve("eval.ckpt"), pickle, Map.of(), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("'builtins.eval'");
    }

    @Test
    void refusesOpcodesOutsideTheRestrictedSet() {
        // INST ('i') builds an object by calling a class: never allowed.
        byte[] pickle = new TorchArchives.Pickle().proto().mark().op('i').bytes();
        Path file = TorchArchives.write(tmp.resolve("inst.ckpt"), pickle, Map.of(), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("opcode 0x69 ('i') is not supported");
    }

    @Test
    void refusesAStorageOffsetOutOfBounds() {
        byte[] pickle = TorchArchives.stateDict("encoder.conv_in.weight", 6, 4, new long[]{2, 3}, new long[]{3, 1});
        Path file = TorchArchives.write(tmp.resolve("oob.ckpt"), pickle, Map.of("0", TorchArchives.floats(0, 1, 2, 3, 4, 5)), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("tensor 'encoder.conv_in.weight'")
                .hasMessageContaining("storage offset 4 + 6 elements lies outside storage '0' of 6 elements");
    }

    @Test
    void refusesAStorageFileShorterThanDeclared() {
        byte[] pickle = TorchArchives.stateDict("w", 6, 0, new long[]{2, 3}, new long[]{3, 1});
        Path file = TorchArchives.write(tmp.resolve("short.ckpt"), pickle, Map.of("0", TorchArchives.floats(0, 1, 2)), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("storage '0' holds 12 bytes but the pickle declares 6 elements");
    }

    @Test
    void refusesNonContiguousTensors() {
        byte[] pickle = TorchArchives.stateDict("w", 6, 0, new long[]{2, 3}, new long[]{1, 2});
        Path file = TorchArchives.write(tmp.resolve("strided.ckpt"), pickle, Map.of("0", TorchArchives.floats(0, 1, 2, 3, 4, 5)), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tensor 'w'").hasMessageContaining("not contiguous");
    }

    @Test
    void refusesAMissingStorage() {
        byte[] pickle = TorchArchives.stateDict("w", 6, 0, new long[]{2, 3}, new long[]{3, 1});
        Path file = TorchArchives.write(tmp.resolve("nostorage.ckpt"), pickle, Map.of(), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("storage '0' is missing from the archive");
    }

    @Test
    void refusesTruncatedArchivesAndOtherFiles() throws IOException {
        byte[] whole = Files.readAllBytes(Fixtures.path("vqgan/vqgan.ckpt"));
        Path truncated = Files.write(tmp.resolve("truncated.ckpt"), Arrays.copyOf(whole, whole.length / 2));
        assertThatThrownBy(() -> TorchCheckpoint.open(truncated)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(truncated.toString()).hasMessageContaining("not a zip archive");
        Path text = Files.writeString(tmp.resolve("notes.ckpt"), "just some text, long enough to look for a directory");
        assertThatThrownBy(() -> TorchCheckpoint.open(text)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("not a zip archive");
        Path empty = Files.write(tmp.resolve("empty.ckpt"), new byte[0]);
        assertThatThrownBy(() -> TorchCheckpoint.open(empty)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("too short for a zip archive");
    }

    @Test
    void refusesAPickleThatEndsEarly() {
        byte[] good = TorchArchives.stateDict("w", 6, 0, new long[]{2, 3}, new long[]{3, 1});
        Path file = TorchArchives.write(tmp.resolve("cut.ckpt"), Arrays.copyOf(good, good.length - 5),
                Map.of("0", TorchArchives.floats(0, 1, 2, 3, 4, 5)), false);
        assertThatThrownBy(() -> TorchCheckpoint.open(file)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("pickle");
    }
}
