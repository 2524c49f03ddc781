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
 */
public record EngineOptions(String backend, boolean castToBf16, DType quantization) {
    public EngineOptions {
        if (quantization != null && !quantization.isQuantized()) {
            throw new IllegalArgumentException("quantization must be Q8_0 or Q4_0, not " + quantization);
        }
    }

    public EngineOptions(String backend, boolean castToBf16) {
        this(backend, castToBf16, null);
    }

    public static EngineOptions defaults() {
        return new EngineOptions(System.getProperty("cm3leon.backend"), false, null);
    }

    public EngineOptions withBackend(String name) {
        return new EngineOptions(name, castToBf16, quantization);
    }

    /** Quantize weights at load: {@code "q8_0"}, {@code "q4_0"}, or {@code "none"}/null to keep them as stored. */
    public EngineOptions quantize(String type) {
        if (type == null || type.equalsIgnoreCase("none")) return new EngineOptions(backend, castToBf16, null);
        DType t = switch (type.toLowerCase(Locale.ROOT)) {
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            default -> throw new IllegalArgumentException("unknown quantization '" + type + "'; expected q8_0, q4_0 or none");
        };
        return new EngineOptions(backend, castToBf16, t);
    }
}
