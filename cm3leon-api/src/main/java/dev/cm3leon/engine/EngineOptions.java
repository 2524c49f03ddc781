package dev.cm3leon.engine;

import dev.cm3leon.checkpoint.DType;

import java.util.Locale;

/**
 * How a backend should run the model.
 *
 * @param backend      name of the backend to use ("cpu", "cuda"), or null to choose automatically
 * @param castToBf16   let a GPU backend store f32 weights as bf16
 * @param quantization store float weight matrices as {@link DType#Q8_0} or {@link DType#Q4_0} when the model is
 *                     opened (matrices whose rows are not whole 32-value blocks stay as stored); null keeps every
 *                     weight as stored
 * @param kvCacheBytes how much memory the KV caches of all running requests may hold together; 0 for the default
 *                     (see {@link KvCacheBudget#of})
 */
public record EngineOptions(String backend, boolean castToBf16, DType quantization, long kvCacheBytes) {
    public EngineOptions {
        if (quantization != null && !quantization.isQuantized()) {
            throw new IllegalArgumentException("quantization must be Q8_0 or Q4_0, not " + quantization);
        }
        if (kvCacheBytes < 0) throw new IllegalArgumentException("kvCacheBytes must be ≥ 0, got " + kvCacheBytes);
    }

    public EngineOptions(String backend, boolean castToBf16) {
        this(backend, castToBf16, null, 0);
    }

    public EngineOptions(String backend, boolean castToBf16, DType quantization) {
        this(backend, castToBf16, quantization, 0);
    }

    public EngineOptions(String backend, boolean castToBf16, long kvCacheBytes) {
        this(backend, castToBf16, null, kvCacheBytes);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(System.getProperty("cm3leon.backend"), false, null, 0);
    }

    public EngineOptions withBackend(String name) {
        return new EngineOptions(name, castToBf16, quantization, kvCacheBytes);
    }

    /** Quantize weights at load: {@code "q8_0"}, {@code "q4_0"}, or {@code "none"}/null to keep them as stored. */
    public EngineOptions quantize(String type) {
        if (type == null || type.equalsIgnoreCase("none")) return new EngineOptions(backend, castToBf16, null, kvCacheBytes);
        DType t = switch (type.toLowerCase(Locale.ROOT)) {
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            default -> throw new IllegalArgumentException("unknown quantization '" + type + "'; expected q8_0, q4_0 or none");
        };
        return new EngineOptions(backend, castToBf16, t, kvCacheBytes);
    }

    /** Caps the KV memory of all running requests together; a request that would pass it fails alone. */
    public EngineOptions withKvCacheBudget(long bytes) {
        return new EngineOptions(backend, castToBf16, quantization, bytes);
    }
}
