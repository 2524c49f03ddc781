package dev.cm3leon.checkpoint;

import java.util.Map;
import java.util.Optional;

/** Named tensors kept in their stored dtype, valid until the source is closed. */
public interface TensorSource extends AutoCloseable {
    Map<String, Tensor> tensors();

    default Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors().get(name));
    }

    /** Where the tensors come from (a file or folder), for error messages. */
    String describe();

    default Tensor require(String name) {
        return find(name).orElseThrow(() -> new CheckpointException(describe() + ": missing tensor '" + name + "'"));
    }

    @Override
    void close();
}
