package dev.cm3leon;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Weights are mapped, not copied. A file cut short in place under a loaded model would make the next read fault (and
 * the JVM's compiled vector loads turn that fault into a crash), so requests check first and refuse; a file replaced
 * by a rename leaves the mapping, and the model, as they were.
 */
class WeightsChangedOnDiskTest {
    static final int[] PROMPT = {0, 40, 41, 42};

    static Path copyOfFixture(Path dir) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("model"));
        try (var files = Files.list(Fixtures.path("chameleon/model"))) {
            for (Path f : files.toList()) {
                Path to = folder.resolve(f.getFileName().toString());
                Files.copy(f, to);
                to.toFile().setWritable(true);
            }
        }
        return folder;
    }

    @Test
    void aCheckpointCutShortInPlaceIsRefusedBeforeItIsRead(@TempDir Path dir) throws IOException {
        Path folder = copyOfFixture(dir);
        try (Cm3Leon model = Cm3Leon.load(folder)) {
            float[] before = model.logits(PROMPT);
            try (RandomAccessFile raf = new RandomAccessFile(folder.resolve("model.safetensors").toFile(), "rw")) {
                raf.setLength(20_000);
            }
            assertThatThrownBy(() -> model.logits(PROMPT)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("model.safetensors").hasMessageContaining("was cut from");
            assertThatThrownBy(() -> model.textToImage("x").generate()).isInstanceOf(CheckpointException.class);
            assertThat(before).isNotEmpty();
        }
        try (Cm3Leon good = Cm3Leon.load(Fixtures.path("chameleon/model"))) {
            assertThat(good.logits(PROMPT)).hasSize(PROMPT.length * 128);
        }
    }

    @Test
    void aCheckpointReplacedByARenameKeepsServingWhatWasLoaded(@TempDir Path dir) throws IOException {
        Path folder = copyOfFixture(dir);
        try (Cm3Leon model = Cm3Leon.load(folder)) {
            float[] before = model.logits(PROMPT);
            Path fresh = dir.resolve("fresh.safetensors");
            Files.write(fresh, new byte[]{1, 2, 3});
            Files.move(fresh, folder.resolve("model.safetensors"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(model.logits(PROMPT)).containsExactly(before);
        }
    }
}
