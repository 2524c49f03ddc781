package dev.cm3leon.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Remembers a file as it was when mapped, to notice it being cut short in place afterwards. Reading the lost pages
 * would then fault, and while a plain read turns that into an {@link InternalError}, the Vector API's compiled loads
 * crash the JVM (SIGBUS). A file replaced by a rename is harmless: the mapping keeps the old one.
 */
record MappedFileWatch(Path path, long mappedSize, Object fileKey) {
    static MappedFileWatch of(Path path, long mappedSize) {
        Object key;
        try {
            key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            key = null;
        }
        return new MappedFileWatch(path, mappedSize, key);
    }

    void requireIntact() {
        if (fileKey == null) return;
        try {
            BasicFileAttributes now = Files.readAttributes(path, BasicFileAttributes.class);
            if (fileKey.equals(now.fileKey()) && now.size() < mappedSize) {
                throw CheckpointException.of(path, "was cut from " + mappedSize + " to " + now.size()
                        + " bytes on disk while loaded; reload the model (replace checkpoint files by renaming, not in place)");
            }
        } catch (IOException e) {
            // Deleted or unreadable now: the mapping still holds the data it was made from.
        }
    }
}
