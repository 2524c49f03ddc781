package dev.cm3leon.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Round-to-nearest quantization into the GGUF block layouts, with llama.cpp's reference rounding so files written
 * here and there agree: {@link DType#Q8_0} scales each block by max|x| / 127; {@link DType#Q4_0} by the signed value
 * of largest magnitude / −8, which puts that value exactly on the grid.
 */
public final class BlockQuantizer {
    public static final int BLOCK = 32;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private BlockQuantizer() {
    }

    /** Quantizes {@code count} values (whole blocks) of {@code src} from {@code off} into {@code dst} at {@code at}. */
    public static void quantize(DType type, float[] src, int off, int count, MemorySegment dst, long at) {
        if (count % BLOCK != 0) throw new IllegalArgumentException(count + " values are not whole blocks of " + BLOCK);
        switch (type) {
            case Q8_0 -> {
                for (int b = 0; b < count / BLOCK; b++) q8Block(src, off + b * BLOCK, dst, at + b * 34L);
            }
            case Q4_0 -> {
                for (int b = 0; b < count / BLOCK; b++) q4Block(src, off + b * BLOCK, dst, at + b * 18L);
            }
            default -> throw new IllegalArgumentException(type + " is not a block-quantized type");
        }
    }

    private static void q8Block(float[] x, int off, MemorySegment dst, long at) {
        float amax = 0f;
        for (int j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[off + j]));
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        dst.set(F16, at, Float.floatToFloat16(d));
        for (int j = 0; j < BLOCK; j++) dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundHalfAway(x[off + j] * id));
    }

    private static void q4Block(float[] x, int off, MemorySegment dst, long at) {
        float amax = 0f, max = 0f;
        for (int j = 0; j < BLOCK; j++) {
            float v = x[off + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        dst.set(F16, at, Float.floatToFloat16(d));
        for (int j = 0; j < BLOCK / 2; j++) {
            int lo = Math.min(15, (byte) (x[off + j] * id + 8.5f));
            int hi = Math.min(15, (byte) (x[off + BLOCK / 2 + j] * id + 8.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (lo | hi << 4));
        }
    }

    /** C's roundf: halves away from zero (Math.round rounds them up). */
    private static int roundHalfAway(float v) {
        return (int) Math.copySign(Math.floor(Math.abs((double) v) + 0.5), v);   // in double: |v| + ½ is exact
    }
}
