package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** bf16 weights, widened to f32 by a 16-bit shift: the upper half of an f32 is a bf16. */
public final class Bf16Matrix extends MatrixWeights {
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    Bf16Matrix(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    @Override
    public DType dtype() {
        return DType.BF16;
    }

    @Override
    FloatVector load(long index) {
        ShortVector s = ShortVector.fromMemorySegment(S, data, index * 2, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    @Override
    float get(long index) {
        return Float.intBitsToFloat((data.get(LE, index * 2) & 0xFFFF) << 16);
    }
}
