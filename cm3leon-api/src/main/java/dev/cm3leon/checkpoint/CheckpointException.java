package dev.cm3leon.checkpoint;

import dev.cm3leon.Cm3LeonException;

import java.nio.file.Path;

/** A checkpoint file or folder that cannot be used: the message names the file and the tensor or field. */
public class CheckpointException extends Cm3LeonException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }

    public static CheckpointException of(Path file, String what) {
        return new CheckpointException(file + ": " + what);
    }
}
