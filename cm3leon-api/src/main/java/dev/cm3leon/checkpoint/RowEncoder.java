package dev.cm3leon.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Stores f32 rows in a tensor dtype (little-endian), the inverse of {@link Tensor#getFloat}. */
final class RowEncoder {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RowEncoder() {
    }

    /** Encodes {@code src[0, count)} as {@code type} at {@code dst[at]}; returns the bytes written. */
    static long encode(DType type, float[] src, int count, MemorySegment dst, long at) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, 0, dst, F32, at, count);
            case F16 -> {
                for (int i = 0; i < count; i++) dst.set(I16, at + 2L * i, Float.floatToFloat16(src[i]));
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) dst.set(I16, at + 2L * i, toBf16(src[i]));
            }
            case Q8_0, Q4_0 -> BlockQuantizer.quantize(type, src, 0, count, dst, at);
            default -> throw new IllegalArgumentException("cannot write " + type + " tensors");
        }
        return type.bytesFor(count);
    }

    /** Round to nearest even, as torch's float → bfloat16; NaN stays NaN. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
