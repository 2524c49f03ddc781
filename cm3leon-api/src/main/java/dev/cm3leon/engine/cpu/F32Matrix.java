package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** f32 weights. */
public final class F32Matrix extends MatrixWeights {
    private static final ValueLayout.OfFloat LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    F32Matrix(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data, null);
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public MatrixWeights javaKernels() {
        return this;
    }

    private FloatVector load(long index) {
        return FloatVector.fromMemorySegment(F, data, index * 4, ByteOrder.LITTLE_ENDIAN);
    }

    private float get(long index) {
        return data.get(LE, index * 4);
    }

    @Override
    void widen(int r, int k0, int len, float[] dst, int off) {
        MemorySegment.copy(data, LE, ((long) r * cols + k0) * 4, dst, off, len);
    }

    @Override
    void dots(int r, float[] x, int t, int m, float[] out, float[] scratch) {
        long base = (long) r * cols;
        int x0 = t * cols;
        if (m == 1) {
            out[t * rows + r] = dot1(base, x, x0);
        } else if (m == 2) {
            dot2(base, x, x0, out, t * rows + r);
        } else {
            // Three inputs run as four with the last repeated: one more FMA per weight vector, no fourth loop.
            int x1 = x0 + cols, x2 = x1 + cols, x3 = m == 4 ? x2 + cols : x2;
            dot4(base, x, x0, x1, x2, x3, out, t * rows + r, m);
        }
    }

    /** Two accumulator chains hide the FMA latency. */
    private float dot1(long base, float[] x, int x0) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int k = 0;
        for (int upper = cols - cols % (2 * L); k < upper; k += 2 * L) {
            a0 = load(base + k).fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a1 = load(base + k + L).fma(FloatVector.fromArray(F, x, x0 + k + L), a1);
        }
        for (int upper = F.loopBound(cols); k < upper; k += L) a0 = load(base + k).fma(FloatVector.fromArray(F, x, x0 + k), a0);
        float s = CpuOps.sumLanes(a0.add(a1));
        for (; k < cols; k++) s += get(base + k) * x[x0 + k];
        return s;
    }

    private void dot2(long base, float[] x, int x0, float[] out, int o) {
        int x1 = x0 + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int k = 0;
        for (int upper = F.loopBound(cols); k < upper; k += L) {
            FloatVector w = load(base + k);
            a0 = w.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + k), a1);
        }
        float s0 = CpuOps.sumLanes(a0), s1 = CpuOps.sumLanes(a1);
        for (; k < cols; k++) {
            float w = get(base + k);
            s0 += w * x[x0 + k];
            s1 += w * x[x1 + k];
        }
        out[o] = s0;
        out[o + rows] = s1;
    }

    private void dot4(long base, float[] x, int x0, int x1, int x2, int x3, float[] out, int o, int m) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int k = 0;
        for (int upper = F.loopBound(cols); k < upper; k += L) {
            FloatVector w = load(base + k);
            a0 = w.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + k), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + k), a2);
            a3 = w.fma(FloatVector.fromArray(F, x, x3 + k), a3);
        }
        float s0 = CpuOps.sumLanes(a0), s1 = CpuOps.sumLanes(a1);
        float s2 = CpuOps.sumLanes(a2), s3 = CpuOps.sumLanes(a3);
        for (; k < cols; k++) {
            float w = get(base + k);
            s0 += w * x[x0 + k];
            s1 += w * x[x1 + k];
            s2 += w * x[x2 + k];
            s3 += w * x[x3 + k];
        }
        out[o] = s0;
        out[o + rows] = s1;
        out[o + 2 * rows] = s2;
        if (m == 4) out[o + 3 * rows] = s3;
    }
}
