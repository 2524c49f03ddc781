package dev.cm3leon.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One scratch file per fuzz target, rewritten for every input: the readers under test map or open paths, and creating
 * a file per execution would cost more than the read. On tmpfs when the machine has one.
 */
final class FuzzFiles {
    private FuzzFiles() {
    }

    static Path scratch(String suffix) {
        try {
            Path shm = Path.of("/dev/shm");
            Path dir = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
            Path file = Files.createTempFile(dir, "cm3leon-fuzz", suffix);
            file.toFile().deleteOnExit();
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Path file, byte[] bytes) {
        try {
            return Files.write(file, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
