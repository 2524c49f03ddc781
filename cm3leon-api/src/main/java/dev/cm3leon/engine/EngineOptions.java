package dev.cm3leon.engine;

/**
 * How a backend should run the model.
 *
 * @param backend      name of the backend to use ("cpu", "cuda"), or null to choose automatically
 * @param castToBf16   let a GPU backend store f32 weights as bf16
 * @param kvCacheBytes how much memory the KV caches of all running requests may hold together; 0 for the default
 *                     (see {@link KvCacheBudget#of})
 */
public record EngineOptions(String backend, boolean castToBf16, long kvCacheBytes) {
    public EngineOptions {
        if (kvCacheBytes < 0) throw new IllegalArgumentException("kvCacheBytes must be ≥ 0, got " + kvCacheBytes);
    }

    public EngineOptions(String backend, boolean castToBf16) {
        this(backend, castToBf16, 0);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(System.getProperty("cm3leon.backend"), false);
    }

    public EngineOptions withBackend(String name) {
        return new EngineOptions(name, castToBf16, kvCacheBytes);
    }

    /** Caps the KV memory of all running requests together; a request that would pass it fails alone. */
    public EngineOptions withKvCacheBudget(long bytes) {
        return new EngineOptions(backend, castToBf16, bytes);
    }
}
