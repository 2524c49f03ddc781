package dev.cm3leon.cuda;

/** Element types on the device: the kernels' name suffixes and cuBLAS's {@code cudaDataType} codes. */
public enum ElementType {
    F32(4, "f32", 0),
    BF16(2, "bf16", 14);

    public final int bytes;
    /** Suffix of the kernel instantiation for this type, e.g. {@code rmsnorm_bf16}. */
    public final String suffix;
    final int cudaType;

    ElementType(int bytes, String suffix, int cudaType) {
        this.bytes = bytes;
        this.suffix = suffix;
        this.cudaType = cudaType;
    }
}
