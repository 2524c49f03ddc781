package dev.cm3leon.checkpoint;

import java.util.Optional;

/** Element types a checkpoint tensor may be stored in. */
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
    BOOL(1, "BOOL");

    private final int byteSize;
    private final String safetensorsName;

    DType(int byteSize, String safetensorsName) {
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    public int byteSize() {
        return byteSize;
    }

    public String safetensorsName() {
        return safetensorsName;
    }

    /** Whether the engine can compute with weights of this type. */
    public boolean isFloatingPoint() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    public static Optional<DType> fromSafetensors(String name) {
        for (DType t : values()) {
            if (t.safetensorsName.equals(name)) return Optional.of(t);
        }
        return Optional.empty();
    }
}
