package dev.cm3leon.engine;

/** A way to run the decoder (CPU, CUDA…), found through {@link java.util.ServiceLoader}. */
public interface Backend {
    String name();

    /** Higher wins when several are available (CUDA over CPU). */
    int priority();

    /** Whether this backend can run here, and why not. Must not throw or leave native state broken. */
    Availability availability();

    Engine open(DecoderWeights weights, EngineOptions options);

    /**
     * Why this backend cannot run a model of this architecture, or empty when it can; {@link Backends#select} passes
     * over a backend that says why rather than let it compute something else.
     */
    default java.util.Optional<String> unsupported(dev.cm3leon.checkpoint.ModelConfig config) {
        return java.util.Optional.empty();
    }

    record Availability(boolean available, String reason) {
        public static Availability yes(String why) {
            return new Availability(true, why);
        }

        public static Availability no(String why) {
            return new Availability(false, why);
        }
    }
}
