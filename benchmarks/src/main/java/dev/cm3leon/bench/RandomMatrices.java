package dev.cm3leon.bench;

import dev.cm3leon.checkpoint.BlockQuantizer;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Seeded random weight matrices in any storage type, off-heap like a mapped checkpoint. */
final class RandomMatrices {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RandomMatrices() {
    }

    static Tensor matrix(DType type, int rows, int cols, Arena arena) {
        MemorySegment seg = arena.allocate(type.bytesFor((long) rows * cols), 64);
        SplittableRandom rnd = new SplittableRandom(rows * 31L + cols);
        float[] row = new float[cols];
        long rowBytes = type.bytesFor(cols);
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) row[k] = (float) (rnd.nextDouble() * 2 - 1);
            long at = r * rowBytes;
            switch (type) {
                case F32 -> MemorySegment.copy(row, 0, seg, F32, at, cols);
                case BF16 -> {
                    for (int k = 0; k < cols; k++) seg.set(I16, at + 2L * k, (short) (Float.floatToRawIntBits(row[k]) >>> 16));
                }
                case F16 -> {
                    for (int k = 0; k < cols; k++) seg.set(I16, at + 2L * k, Float.floatToFloat16(row[k]));
                }
                default -> BlockQuantizer.quantize(type, row, 0, cols, seg, at);
            }
        }
        return new Tensor("w", type, new long[]{rows, cols}, seg);
    }

    static float[] vector(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextDouble() * 2 - 1);
        return v;
    }
}
