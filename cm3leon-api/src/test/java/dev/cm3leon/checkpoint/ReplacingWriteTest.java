package dev.cm3leon.checkpoint;

import dev.cm3leon.vq.ImageFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Files the library writes get the permissions a plain write would give them, and appear whole or not at all. */
class ReplacingWriteTest {
    private static final RowSource TWO_ROWS = new RowSource() {
        @Override
        public List<String> names() {
            return List.of("w");
        }

        @Override
        public long[] shape(String name) {
            return new long[] {2, 4};
        }

        @Override
        public void row(String name, long r, float[] dst) {
            for (int i = 0; i < 4; i++) dst[i] = r * 4 + i;
        }
    };

    /** What this process's umask gives a new file: the permissions every new output must have. */
    private static Set<PosixFilePermission> plainNewFile(Path dir) throws IOException {
        Path probe = Files.createFile(dir.resolve("probe"));
        try {
            return Files.getPosixFilePermissions(probe);
        } finally {
            Files.delete(probe);
        }
    }

    @Test
    void aNewPngSafetensorsOrGgufFileHasTheUmasksPermissionsNotPrivateOnes(@TempDir Path dir) throws IOException {
        Set<PosixFilePermission> expected = plainNewFile(dir);
        assertThat(expected).contains(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

        Path png = ImageFiles.writePng(new BufferedImage(4, 3, BufferedImage.TYPE_INT_RGB), dir.resolve("out/picture.png"));
        Path st = dir.resolve("model.safetensors");
        SafetensorsWriter.write(st, TWO_ROWS, DType.F32);
        Path gguf = dir.resolve("model.gguf");
        new GgufWriter().tensor("w", DType.F32, 2, 4).write(gguf, (name, r, row) -> TWO_ROWS.row(name, r, row));

        for (Path p : List.of(png, st, gguf)) {
            assertThat(Files.getPosixFilePermissions(p)).as("permissions of %s", p.getFileName()).isEqualTo(expected);
        }
        try (SafetensorsFile f = SafetensorsFile.open(st)) {
            assertThat(f.tensors()).containsOnlyKeys("w");
        }
        assertThat(hiddenLeftovers(dir)).isEmpty();
    }

    @Test
    void aReplacedFileKeepsItsOwnPermissions(@TempDir Path dir) throws IOException {
        Path png = dir.resolve("picture.png");
        Files.writeString(png, "old");
        Set<PosixFilePermission> chosen = PosixFilePermissions.fromString("rw-r-----");
        Files.setPosixFilePermissions(png, chosen);

        ImageFiles.writePng(new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB), png);

        assertThat(Files.getPosixFilePermissions(png)).isEqualTo(chosen);
        assertThat(ImageFiles.read(png).getWidth()).isEqualTo(2);
    }

    @Test
    void aWriteThatFailsPartWayLeavesTheExistingFileAndNoTemporaryBehind(@TempDir Path dir) throws IOException {
        Path st = dir.resolve("model.safetensors");
        Files.writeString(st, "the user's file");
        RowSource failing = new RowSource() {
            @Override
            public List<String> names() {
                return TWO_ROWS.names();
            }

            @Override
            public long[] shape(String name) {
                return TWO_ROWS.shape(name);
            }

            @Override
            public void row(String name, long r, float[] dst) {
                if (r == 1) throw new IllegalStateException("source failed at row 1");
                TWO_ROWS.row(name, r, dst);
            }
        };

        assertThatThrownBy(() -> SafetensorsWriter.write(st, failing, DType.F32)).hasMessageContaining("row 1");
        assertThatThrownBy(() -> ImageFiles.writeAtomically(st, out -> {
            out.write(1);
            throw new IOException("disk full");
        })).hasMessageContaining("disk full");

        assertThat(Files.readString(st)).isEqualTo("the user's file");
        assertThat(hiddenLeftovers(dir)).isEmpty();
    }

    private static List<Path> hiddenLeftovers(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(".")).toList();
        }
    }
}
