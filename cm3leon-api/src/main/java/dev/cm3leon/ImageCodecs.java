package dev.cm3leon;

import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.TensorSource;

import java.nio.file.Path;
import java.util.Optional;

/** Opens the checkpoint's image tokenizer, when it has one. */
final class ImageCodecs {
    private ImageCodecs() {
    }

    static Optional<ImageCodec> open(Path folder, TensorSource checkpoint, ModelConfig config) {
        return Optional.empty();
    }
}
