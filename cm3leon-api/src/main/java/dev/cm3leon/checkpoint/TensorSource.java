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

    /**
     * Throws if a mapped file of the source was cut short on disk since it was opened (reading its lost pages would
     * crash the JVM); sources that map nothing have nothing to check.
     */
    default void requireIntact() {
    }

    @Override
    void close();
}
