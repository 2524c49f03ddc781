package dev.cm3leon.checkpoint;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.security.SecureRandom;

/**
 * A file written all or nothing: the bytes go to a hidden sibling of the target, which replaces the target in one
 * rename only once it is complete, so a failure part-way leaves whatever the user had there untouched.
 *
 * <p>The sibling is created as an ordinary new file (mode 0666 less the process's umask, so 0644 typically), not with
 * {@code Files.createTempFile}'s private 0600, and where the target exists already its permissions carry over: the
 * result has the permissions a direct write would have given it.
 */
public final class ReplacingWrite implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path target;
    private final Path temporary;
    private boolean committed;

    private ReplacingWrite(Path target, Path temporary) {
        this.target = target;
        this.temporary = temporary;
    }

    /** Creates the hidden sibling of {@code target} (and the target's folder, if missing). */
    public static ReplacingWrite of(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Files.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + absolute.getFileName() + "." + Long.toUnsignedString(RANDOM.nextLong(), 36) + ".tmp");
            try {
                Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt < 16) continue;
                throw e;
            }
            ReplacingWrite w = new ReplacingWrite(absolute, tmp);
            w.keepExistingPermissions();
            return w;
        }
    }

    /** Where the bytes go until {@link #commit()}. */
    public Path temporary() {
        return temporary;
    }

    /** Moves the complete file into place, replacing the target. */
    public Path commit() throws IOException {
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        committed = true;
        return target;
    }

    /** Deletes the temporary file unless it was committed. */
    @Override
    public void close() throws IOException {
        if (!committed) Files.deleteIfExists(temporary);
    }

    private void keepExistingPermissions() throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(temporary, PosixFileAttributeView.class);
        if (view == null) return;   // not a POSIX file system: the platform's defaults apply
        try {
            view.setPermissions(Files.getPosixFilePermissions(target));
        } catch (NoSuchFileException e) {
            // a new file keeps the umask's permissions it was created with
        }
    }
}
