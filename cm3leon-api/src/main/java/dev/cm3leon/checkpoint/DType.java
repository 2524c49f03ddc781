package dev.cm3leon.checkpoint;

import java.util.Optional;

/**
 * Element types a checkpoint tensor may be stored in. Most are one value per element; the GGUF block types
 * ({@link #Q8_0}, {@link #Q4_0}) pack 32 consecutive values of a row with one f16 scale.
 */
public enum DType {
    F32(4, "F32"),
    F16(2, "F16"),
    BF16(2, "BF16"),
    F64(8, "F64"),
    I64(8, "I64"),
    I32(4, "I32"),
    I16(2, "I16"),
    I8(1, "I8"),
    U8(1, "U8"),
    BOOL(1, "BOOL"),
    /** 32 values as an f16 scale d and 32 signed bytes q: value = d · q (34 bytes). */
    Q8_0(34, 32, null),
    /** 32 values as an f16 scale d and 16 bytes of nibbles: value j = d · (nibble − 8), j &lt; 16 low, else high (18 bytes). */
    Q4_0(18, 32, null);

    private final int byteSize;
    private final int blockSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this(byteSize, 1, safetensorsName);
    }

    DType(int byteSize, int blockSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.blockSize = blockSize;
        this.safetensorsName = safetensorsName;
    }

    /** Bytes of one element, or of one block for the block-quantized types. */
    public int byteSize() {
        return byteSize;
    }

    /** Values per block: 1, or 32 for the block-quantized types. */
    public int blockSize() {
        return blockSize;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** Bytes that {@code elements} values take; for block types the count must be a whole number of blocks. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(this + " stores whole blocks of " + blockSize + " values, not " + elements);
        }
        return Math.multiplyExact(elements / blockSize, (long) byteSize);
    }

    /** The name in a safetensors header; null for types safetensors cannot hold. */
    public String safetensorsName() {
        return safetensorsName;
    }

    /** Whether the engine can compute with weights of this type. */
    public boolean isFloatingPoint() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    public static Optional<DType> fromSafetensors(String name) {
        for (DType t : values()) {
            if (name.equals(t.safetensorsName)) return Optional.of(t);
        }
        return Optional.empty();
    }
}
