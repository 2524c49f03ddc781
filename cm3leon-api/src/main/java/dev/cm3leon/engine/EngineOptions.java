package dev.cm3leon.engine;

import dev.cm3leon.checkpoint.DType;

import java.nio.file.Path;
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
 * @param prefillChunk the most tokens (all streams of a step together) the CPU backend runs through one forward pass;
 *                     a longer prompt is run in chunks of this many, so its activations take memory for a chunk, not
 *                     for the whole prompt. 0 for the default, {@value #DEFAULT_PREFILL_CHUNK}
 * @param vqGan        where Meta's VQ-GAN files are, for a checkpoint that lacks the image decoder (HF's converter
 *                     drops it): a folder holding {@code vqgan.yaml} with {@code vqgan.ckpt} or
 *                     {@code vqgan.safetensors}, or one of those weight files (its {@code vqgan.yaml} beside it);
 *                     null to look only in the checkpoint folder and its {@code tokenizer/}
 * @param kvCacheType  how the CPU backend stores cached keys and values: {@link DType#F32} (null: the default) or
 *                     {@link DType#BF16}, which halves the cache's memory and the bytes attention reads per step, at
 *                     the price of bf16's 8-bit mantissa in keys and values (see benchmarks/RESULTS.md for what that
 *                     does to logits)
 */
public record EngineOptions(String backend, boolean castToBf16, DType quantization, long kvCacheBytes, int prefillChunk,
                            Path vqGan, DType kvCacheType) {
    /** Enough rows that a chunk's matrix products stay compute-bound: each weight loaded serves 256 tokens. */
    public static final int DEFAULT_PREFILL_CHUNK = 256;

    public EngineOptions {
        if (quantization != null && !quantization.isQuantized()) {
            throw new IllegalArgumentException("quantization must be Q8_0 or Q4_0, not " + quantization);
        }
        if (kvCacheBytes < 0) throw new IllegalArgumentException("kvCacheBytes must be ≥ 0, got " + kvCacheBytes);
        if (prefillChunk < 0) throw new IllegalArgumentException("prefillChunk must be ≥ 0 (0 for the default), got " + prefillChunk);
        if (kvCacheType != null && kvCacheType != DType.F32 && kvCacheType != DType.BF16) {
            throw new IllegalArgumentException("the KV cache is stored as F32 or BF16, not " + kvCacheType);
        }
    }

    public EngineOptions(String backend, boolean castToBf16, DType quantization, long kvCacheBytes, int prefillChunk,
                         Path vqGan) {
        this(backend, castToBf16, quantization, kvCacheBytes, prefillChunk, vqGan, null);
    }

    public EngineOptions(String backend, boolean castToBf16, DType quantization, long kvCacheBytes, int prefillChunk) {
        this(backend, castToBf16, quantization, kvCacheBytes, prefillChunk, null);
    }

    public EngineOptions(String backend, boolean castToBf16, DType quantization, long kvCacheBytes) {
        this(backend, castToBf16, quantization, kvCacheBytes, 0);
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
        return new EngineOptions(System.getProperty("cm3leon.backend"), false, null, 0, 0, null, null);
    }

    public EngineOptions withBackend(String name) {
        return new EngineOptions(name, castToBf16, quantization, kvCacheBytes, prefillChunk, vqGan, kvCacheType);
    }

    /** The prefill chunk in effect: {@link #prefillChunk} or, where that is 0, the default. */
    public int prefillChunkTokens() {
        return prefillChunk == 0 ? DEFAULT_PREFILL_CHUNK : prefillChunk;
    }

    /** Runs prompts through the CPU backend at most {@code tokens} at a time (0 for the default). */
    public EngineOptions withPrefillChunk(int tokens) {
        return new EngineOptions(backend, castToBf16, quantization, kvCacheBytes, tokens, vqGan, kvCacheType);
    }

    /** Quantize weights at load: {@code "q8_0"}, {@code "q4_0"}, or {@code "none"}/null to keep them as stored. */
    public EngineOptions quantize(String type) {
        if (type == null || type.equalsIgnoreCase("none")) return new EngineOptions(backend, castToBf16, null, kvCacheBytes, prefillChunk, vqGan, kvCacheType);
        DType t = switch (type.toLowerCase(Locale.ROOT)) {
            case "q8_0" -> DType.Q8_0;
            case "q4_0" -> DType.Q4_0;
            default -> throw new IllegalArgumentException("unknown quantization '" + type + "'; expected q8_0, q4_0 or none");
        };
        return new EngineOptions(backend, castToBf16, t, kvCacheBytes, prefillChunk, vqGan, kvCacheType);
    }

    /** Looks for Meta's VQ-GAN files (the image decoder) at {@code path} before the checkpoint's own folders. */
    public EngineOptions withVqGan(Path path) {
        return new EngineOptions(backend, castToBf16, quantization, kvCacheBytes, prefillChunk, path, kvCacheType);
    }

    /** Caps the KV memory of all running requests together; a request that would pass it fails alone. */
    public EngineOptions withKvCacheBudget(long bytes) {
        return new EngineOptions(backend, castToBf16, quantization, bytes, prefillChunk, vqGan, kvCacheType);
    }

    /** Stores cached keys and values as {@code "f32"} (the default) or {@code "bf16"}. */
    public EngineOptions withKvCache(String type) {
        DType t = switch (type == null ? "f32" : type.toLowerCase(Locale.ROOT)) {
            case "f32" -> DType.F32;
            case "bf16" -> DType.BF16;
            default -> throw new IllegalArgumentException("unknown KV cache type '" + type + "'; expected f32 or bf16");
        };
        return new EngineOptions(backend, castToBf16, quantization, kvCacheBytes, prefillChunk, vqGan, t);
    }

    /** The KV cache's element type in effect: {@link #kvCacheType}, or F32 where that is null. */
    public DType kvCacheElementType() {
        return kvCacheType == null ? DType.F32 : kvCacheType;
    }
}
