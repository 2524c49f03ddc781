package dev.cm3leon.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A named tensor kept in its stored dtype: a bounds-checked view of a mapped file (or of memory the caller owns).
 * Elements are little-endian, row-major.
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data) {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    public Tensor {
        shape = shape.clone();
        long n = elementCount(shape);
        if (shape.length > 0 && shape[shape.length - 1] % dtype.blockSize() != 0) {
            throw new CheckpointException("tensor '" + name + "': rows of " + shape[shape.length - 1] + " values are not whole "
                    + dtype + " blocks of " + dtype.blockSize());
        }
        if (dtype.bytesFor(n) != data.byteSize()) {
            throw new CheckpointException("tensor '" + name + "': shape " + Arrays.toString(shape) + " × " + dtype
                    + " needs " + dtype.bytesFor(n) + " bytes, the data has " + data.byteSize());
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int i) {
        return shape[i];
    }

    public long elementCount() {
        return elementCount(shape);
    }

    static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Element {@code i} (row-major) widened to float. */
    public float getFloat(long i) {
        return switch (dtype) {
            case F32 -> data.get(F32, i * 4);
            case BF16 -> Float.intBitsToFloat((data.get(I16, i * 2) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.get(I16, i * 2));
            case F64 -> (float) data.get(F64, i * 8);
            case Q8_0 -> {
                long block = i / 32 * 34;
                yield Float.float16ToFloat(data.get(I16, block)) * data.get(ValueLayout.JAVA_BYTE, block + 2 + i % 32);
            }
            case Q4_0 -> {
                long block = i / 32 * 18;
                int j = (int) (i % 32);
                int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + j % 16) & 0xFF;
                yield Float.float16ToFloat(data.get(I16, block)) * (((j < 16) ? packed & 0xF : packed >>> 4) - 8);
            }
            default -> throw new CheckpointException("tensor '" + name + "': dtype " + dtype + " is not a floating-point type");
        };
    }

    /** A heap copy widened to float; for small tensors (norms, biases, conv kernels), never for big matrices. */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE - 8) throw new CheckpointException("tensor '" + name + "' is too large to copy");
        float[] out = new float[(int) n];
        if (dtype == DType.F32) {
            MemorySegment.copy(data, F32, 0, out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        }
        return out;
    }

    /** Checks the shape, naming the tensor when it differs. */
    public Tensor requireShape(long... expected) {
        if (!Arrays.equals(shape, expected)) {
            throw new CheckpointException("tensor '" + name + "': expected shape " + Arrays.toString(expected)
                    + ", found " + Arrays.toString(shape));
        }
        return this;
    }
}
