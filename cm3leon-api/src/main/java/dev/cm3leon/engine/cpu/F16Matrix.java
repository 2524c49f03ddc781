package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * IEEE half-precision weights. Widening without a table: shift exponent and mantissa into place and rescale by
 * 2^112, which also gets subnormals right; infinities and NaNs are patched through a mask.
 */
public final class F16Matrix extends MatrixWeights {
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final float TWO_POW_112 = 0x1p112f;

    F16Matrix(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data, null);
    }

    @Override
    public DType dtype() {
        return DType.F16;
    }

    @Override
    public MatrixWeights javaKernels() {
        return this;
    }

    /** {@code L} elements from element {@code index}, widened. */
    private FloatVector load(long index) {
        ShortVector s = ShortVector.fromMemorySegment(S, data, index * 2, ByteOrder.LITTLE_ENDIAN);
        IntVector h = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
        IntVector sign = h.and(0x8000).lanewise(VectorOperators.LSHL, 16);
        IntVector magnitude = h.and(0x7FFF);
        FloatVector finite = magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(TWO_POW_112);
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7C00);
        IntVector bits = finite.reinterpretAsInts()
                .blend(magnitude.lanewise(VectorOperators.LSHL, 13).or(0x7F800000), special)
                .or(sign);
        return bits.reinterpretAsFloats();
    }

    private float get(long index) {
        return Float.float16ToFloat(data.get(LE, index * 2));
    }

    @Override
    void widen(int r, int k0, int len, float[] dst, int off) {
        long base = (long) r * cols + k0;
        int k = 0;
        for (int upper = F.loopBound(len); k < upper; k += L) load(base + k).intoArray(dst, off + k);
        for (; k < len; k++) dst[off + k] = get(base + k);
    }
}
