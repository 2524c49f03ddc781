package dev.cm3leon.engine;

/**
 * How a backend should run the model.
 *
 * @param backend    name of the backend to use ("cpu", "cuda"), or null to choose automatically
 * @param castToBf16 let a GPU backend store f32 weights as bf16
 */
public record EngineOptions(String backend, boolean castToBf16) {
    public static EngineOptions defaults() {
        return new EngineOptions(System.getProperty("cm3leon.backend"), false);
    }

    public EngineOptions withBackend(String name) {
        return new EngineOptions(name, castToBf16);
    }
}
