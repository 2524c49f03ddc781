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
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final ValueLayout.OfShort LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    Bf16Matrix(String name, int rows, int cols, MemorySegment data) {
        this(name, rows, cols, data, nativeProductFor(DType.BF16));
    }

    private Bf16Matrix(String name, int rows, int cols, MemorySegment data, NativeKernels.Product nativeProduct) {
        super(name, rows, cols, data, nativeProduct);
    }

    @Override
    public DType dtype() {
        return DType.BF16;
    }

    @Override
    public MatrixWeights javaKernels() {
        return nativeProduct == null ? this : new Bf16Matrix(name, rows, cols, data, null);
    }

    /** {@code L} elements from element {@code index}, widened. */
    private FloatVector load(long index) {
        ShortVector s = ShortVector.fromMemorySegment(S, data, index * 2, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) s.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private float get(long index) {
        return Float.intBitsToFloat((data.get(LE, index * 2) & 0xFFFF) << 16);
    }

    @Override
    void widen(int r, int k0, int len, float[] dst, int off) {
        long base = (long) r * cols + k0;
        int k = 0;
        for (int upper = F.loopBound(len); k < upper; k += L) load(base + k).intoArray(dst, off + k);
        for (; k < len; k++) dst[off + k] = get(base + k);
    }

    /**
     * Decode reads x in pairs: a 32-bit lane holds two adjacent bf16 weights, the even one in its low half. Shifting
     * it up gives the even weight as an f32, masking gives the odd one, so one load widens 2·L weights with two
     * cheap ops and no cross-lane conversion. For that, each run of 2·L inputs is laid out evens first, then odds.
     */
    @Override
    float[] prepareInput(float[] x, int n) {
        float[] xp = java.util.Arrays.copyOf(x, n * cols);
        for (int t = 0; t < n; t++) {
            for (int c = t * cols, end = c + cols - cols % (2 * L); c < end; c += 2 * L) {
                for (int j = 0; j < L; j++) {
                    xp[c + j] = x[c + 2 * j];
                    xp[c + L + j] = x[c + 2 * j + 1];
                }
            }
        }
        return xp;
    }

    private IntVector pairs(long index) {
        return IntVector.fromMemorySegment(I, data, index * 2, ByteOrder.LITTLE_ENDIAN);
    }

    private static FloatVector even(IntVector w) {
        return w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector odd(IntVector w) {
        return w.and(0xFFFF0000).reinterpretAsFloats();
    }

    private static FloatVector in(float[] x, int i) {
        return FloatVector.fromArray(F, x, i);
    }

    @Override
    void dots(int r, float[] x, int t, int m, float[] out, float[] scratch) {
        long base = (long) r * cols;
        int x0 = t * cols, o = t * rows + r;
        switch (m) {
            case 1 -> out[o] = dot1(base, x, x0);
            case 2 -> dot2(base, x, x0, out, o);
            case 3 -> dot3(base, x, x0, out, o);
            default -> dot4(base, x, x0, out, o);
        }
    }

    /** Columns covered by whole runs of 2·L; the rest is a scalar tail at the original positions. */
    private int pairedColumns() {
        return cols - cols % (2 * L);
    }

    private float tail(long base, float[] x, int x0) {
        float s = 0f;
        for (int k = pairedColumns(); k < cols; k++) s += get(base + k) * x[x0 + k];
        return s;
    }

    /** Four accumulator chains: two runs of 2·L per iteration, so FMA latency does not bound the loop. */
    private float dot1(long base, float[] x, int x0) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        int k = 0, paired = pairedColumns();
        for (int upper = paired - paired % (4 * L); k < upper; k += 4 * L) {
            IntVector w = pairs(base + k), v = pairs(base + k + 2 * L);
            a0 = even(w).fma(in(x, x0 + k), a0);
            a1 = odd(w).fma(in(x, x0 + k + L), a1);
            a2 = even(v).fma(in(x, x0 + k + 2 * L), a2);
            a3 = odd(v).fma(in(x, x0 + k + 3 * L), a3);
        }
        if (k < paired) {
            IntVector w = pairs(base + k);
            a0 = even(w).fma(in(x, x0 + k), a0);
            a1 = odd(w).fma(in(x, x0 + k + L), a1);
        }
        return CpuOps.sumLanes(a0.add(a1).add(a2.add(a3))) + tail(base, x, x0);
    }

    private void dot2(long base, float[] x, int x0, float[] out, int o) {
        int x1 = x0 + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0;
        for (int k = 0, paired = pairedColumns(); k < paired; k += 2 * L) {
            IntVector w = pairs(base + k);
            FloatVector e = even(w), d = odd(w);
            a0 = e.fma(in(x, x0 + k), a0);
            a1 = d.fma(in(x, x0 + k + L), a1);
            b0 = e.fma(in(x, x1 + k), b0);
            b1 = d.fma(in(x, x1 + k + L), b1);
        }
        out[o] = CpuOps.sumLanes(a0.add(a1)) + tail(base, x, x0);
        out[o + rows] = CpuOps.sumLanes(b0.add(b1)) + tail(base, x, x1);
    }

    private void dot3(long base, float[] x, int x0, float[] out, int o) {
        int x1 = x0 + cols, x2 = x1 + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0;
        for (int k = 0, paired = pairedColumns(); k < paired; k += 2 * L) {
            IntVector w = pairs(base + k);
            FloatVector e = even(w), d = odd(w);
            a0 = e.fma(in(x, x0 + k), a0);
            a1 = d.fma(in(x, x0 + k + L), a1);
            b0 = e.fma(in(x, x1 + k), b0);
            b1 = d.fma(in(x, x1 + k + L), b1);
            c0 = e.fma(in(x, x2 + k), c0);
            c1 = d.fma(in(x, x2 + k + L), c1);
        }
        out[o] = CpuOps.sumLanes(a0.add(a1)) + tail(base, x, x0);
        out[o + rows] = CpuOps.sumLanes(b0.add(b1)) + tail(base, x, x1);
        out[o + 2 * rows] = CpuOps.sumLanes(c0.add(c1)) + tail(base, x, x2);
    }

    private void dot4(long base, float[] x, int x0, float[] out, int o) {
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0, d0 = a0, d1 = a0;
        for (int k = 0, paired = pairedColumns(); k < paired; k += 2 * L) {
            IntVector w = pairs(base + k);
            FloatVector e = even(w), d = odd(w);
            a0 = e.fma(in(x, x0 + k), a0);
            a1 = d.fma(in(x, x0 + k + L), a1);
            b0 = e.fma(in(x, x1 + k), b0);
            b1 = d.fma(in(x, x1 + k + L), b1);
            c0 = e.fma(in(x, x2 + k), c0);
            c1 = d.fma(in(x, x2 + k + L), c1);
            d0 = e.fma(in(x, x3 + k), d0);
            d1 = d.fma(in(x, x3 + k + L), d1);
        }
        out[o] = CpuOps.sumLanes(a0.add(a1)) + tail(base, x, x0);
        out[o + rows] = CpuOps.sumLanes(b0.add(b1)) + tail(base, x, x1);
        out[o + 2 * rows] = CpuOps.sumLanes(c0.add(c1)) + tail(base, x, x2);
        out[o + 3 * rows] = CpuOps.sumLanes(d0.add(d1)) + tail(base, x, x3);
    }
}
