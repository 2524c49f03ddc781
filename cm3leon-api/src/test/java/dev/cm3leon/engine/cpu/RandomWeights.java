package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.BlockQuantizer;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Seeded random tensors in any weight dtype, for kernel tests against scalar references. */
final class RandomWeights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomWeights() {
    }

    /** A [rows, cols] tensor of values roughly in [-1, 1], stored as {@code type}. */
    static Tensor tensor(String name, DType type, int rows, int cols, Random rnd, Arena arena) {
        float[] v = floats(rows * cols, rnd);
        MemorySegment seg = arena.allocate(Math.max(1, type.bytesFor((long) rows * cols)), 64)
                .asSlice(0, type.bytesFor((long) rows * cols));
        switch (type) {
            case F32 -> MemorySegment.copy(v, 0, seg, F32, 0, v.length);
            case BF16 -> {
                for (int i = 0; i < v.length; i++) seg.set(I16, 2L * i, (short) (Float.floatToRawIntBits(v[i]) >>> 16));
            }
            case F16 -> {
                for (int i = 0; i < v.length; i++) seg.set(I16, 2L * i, Float.floatToFloat16(v[i]));
            }
            case Q8_0, Q4_0 -> {
                for (int r = 0; r < rows; r++) BlockQuantizer.quantize(type, v, r * cols, cols, seg, r * type.bytesFor(cols));
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return new Tensor(name, type, new long[]{rows, cols}, seg);
    }

    /** Uniform in [-1, 1) with occasional larger outliers, as trained weights have. */
    static float[] floats(int n, Random rnd) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (rnd.nextFloat() * 2 - 1) * (rnd.nextInt(16) == 0 ? 4f : 1f);
        return v;
    }
}
