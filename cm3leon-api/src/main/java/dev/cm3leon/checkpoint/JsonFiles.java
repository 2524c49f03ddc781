package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads the small JSON files of a checkpoint (config, shard index) with the checks a hostile folder needs. */
final class JsonFiles {
    /** Far above any real config or index (a Chameleon config with its vocabulary map is ~2 MB). */
    static final long MAX_BYTES = 64L << 20;

    private JsonFiles() {
    }

    /**
     * The parsed file, or a {@link CheckpointException} naming it: absent, not a regular file (a FIFO would block the
     * read), larger than {@link #MAX_BYTES}, or not strict JSON.
     */
    static JsonNode read(Path file) {
        byte[] bytes;
        try {
            if (!Files.exists(file)) throw new NoSuchFileException(file.toString());
            if (!Files.isRegularFile(file)) throw CheckpointException.of(file, "not a regular file");
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw CheckpointException.of(file, size + " bytes, more than the " + MAX_BYTES + " bytes accepted for this file");
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw CheckpointException.of(file, "file not found");
        } catch (IOException e) {
            throw CheckpointException.of(file, "cannot read: " + e.getMessage());
        }
        try {
            return SafetensorsFile.JSON.readTree(bytes);
        } catch (IOException e) {
            throw CheckpointException.of(file, "not well-formed JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
