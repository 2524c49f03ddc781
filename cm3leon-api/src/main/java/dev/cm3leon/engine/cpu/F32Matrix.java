package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** f32 weights. */
public final class F32Matrix extends MatrixWeights {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    F32Matrix(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    FloatVector load(long index) {
        return FloatVector.fromMemorySegment(F, data, index * 4, ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    float get(long index) {
        return data.get(LE, index * 4);
    }
}
