package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * GGUF Q4_0 weights: each row is blocks of 18 bytes, an f16 scale d then 16 bytes whose low nibbles are values 0–15
 * and high nibbles values 16–31; value = d · (nibble − 8). One load of quant bytes yields two runs of values.
 */
public final class Q4Matrix extends MatrixWeights {
    private static final int BLOCK = 32, HALF = 16, BLOCK_BYTES = 18;
    /** Bytes per load: as many as a float vector has lanes (at most a half block), at least 8. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int STEP = B.length(), PARTS = STEP / L;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final long rowBytes;

    Q4Matrix(String name, int rows, int cols, MemorySegment data) {
        super(name, rows, cols, data);
        if (cols % BLOCK != 0) throw new IllegalArgumentException("'" + name + "': " + cols + " columns are not whole Q4_0 blocks");
        if (L > HALF) throw new IllegalStateException("Q4_0 needs float vectors of at most 16 lanes, this CPU has " + L);
        this.rowBytes = (long) cols / BLOCK * BLOCK_BYTES;
    }

    @Override
    public DType dtype() {
        return DType.Q4_0;
    }

    private float scale(long p) {
        return Float.float16ToFloat(data.get(F16, p));
    }

    private ByteVector bytes(long p) {
        return ByteVector.fromMemorySegment(B, data, p, ByteOrder.LITTLE_ENDIAN);
    }

    /** L quant bytes widened to int lanes; nibbles are then split with int ops, which x86 has (byte shifts it lacks). */
    private IntVector quantLanes(long p, int part) {
        return (IntVector) bytes(p).convertShape(VectorOperators.B2I, I, part);
    }

    private static FloatVector low(IntVector v) {
        return (FloatVector) v.and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
    }

    private static FloatVector high(IntVector v) {
        return (FloatVector) v.lanewise(VectorOperators.ASHR, 4).and(0x0F).sub(8).convert(VectorOperators.I2F, 0);
    }

    @Override
    void widen(int r, int k0, int len, float[] dst, int off) {
        long p = r * rowBytes + (long) (k0 / BLOCK) * BLOCK_BYTES;
        for (int k = 0; k < len; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector d = FloatVector.broadcast(F, scale(p));
            for (int h = 0; h < HALF; h += STEP) {
                for (int part = 0; part < PARTS; part++) {
                    IntVector v = quantLanes(p + 2 + h, part);
                    low(v).mul(d).intoArray(dst, off + k + h + part * L);
                    high(v).mul(d).intoArray(dst, off + k + HALF + h + part * L);
                }
            }
        }
    }

    /**
     * One input (a single stream) loops over {@link #dot1} here rather than through {@link #dots}: once the
     * multi-input kernels have run, a recompiled {@code dots} ran the one-input kernel three times slower.
     */
    @Override
    void rowRange(int r0, int r1, float[] x, int n, float[] out) {
        if (n != 1) {
            super.rowRange(r0, r1, x, n, out);
            return;
        }
        for (int r = r0; r < r1; r++) out[r] = dot1(r * rowBytes, x, 0);
    }

    @Override
    void dots(int r, float[] x, int t, int m, float[] out, float[] scratch) {
        int x0 = t * cols;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        switch (m) {
            case 1 -> out[t * rows + r] = dot1(r * rowBytes, x, x0);
            case 2 -> dot2(r * rowBytes, x, x0, x1, out, t * rows + r);
            case 3 -> dot3(r * rowBytes, x, x0, x1, x2, out, t * rows + r);
            default -> dot4(r * rowBytes, x, x0, x1, x2, x3, out, t * rows + r, m);
        }
    }

    /**
     * Per block: low and high nibbles in two chains, then one FMA by the block's scale. Written out in one method: a
     * helper returning a vector that the JIT declines to inline would box every vector it returns.
     */
    private float dot1(long p, float[] x, int x0) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int h = 0; h < HALF; h += STEP) {
                for (int part = 0; part < PARTS; part++) {
                    IntVector v = quantLanes(p + 2 + h, part);
                    int e = x0 + k + h + part * L;
                    s0 = low(v).fma(FloatVector.fromArray(F, x, e), s0);
                    s1 = high(v).fma(FloatVector.fromArray(F, x, e + HALF), s1);
                }
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
        }
        return a0.add(a1).reduceLanes(VectorOperators.ADD);
    }

    /** Two inputs (2-stream guidance): written out, so no lanes are spent on inputs that are not there. */
    private void dot2(long p, float[] x, int x0, int x1, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int h = 0; h < HALF; h += STEP) {
                for (int part = 0; part < PARTS; part++) {
                    IntVector v = quantLanes(p + 2 + h, part);
                    FloatVector lo = low(v), hi = high(v);
                    int e = k + h + part * L;
                    s0 = lo.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                    s1 = lo.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                    s0 = hi.fma(FloatVector.fromArray(F, x, x0 + e + HALF), s0);
                    s1 = hi.fma(FloatVector.fromArray(F, x, x1 + e + HALF), s1);
                }
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + rows] = a1.reduceLanes(VectorOperators.ADD);
    }

    /** Three inputs (3-stream guidance). */
    private void dot3(long p, float[] x, int x0, int x1, int x2, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F);
            for (int h = 0; h < HALF; h += STEP) {
                for (int part = 0; part < PARTS; part++) {
                    IntVector v = quantLanes(p + 2 + h, part);
                    FloatVector lo = low(v), hi = high(v);
                    int e = k + h + part * L;
                    s0 = lo.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                    s1 = lo.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                    s2 = lo.fma(FloatVector.fromArray(F, x, x2 + e), s2);
                    s0 = hi.fma(FloatVector.fromArray(F, x, x0 + e + HALF), s0);
                    s1 = hi.fma(FloatVector.fromArray(F, x, x1 + e + HALF), s1);
                    s2 = hi.fma(FloatVector.fromArray(F, x, x2 + e + HALF), s2);
                }
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        out[o + rows] = a1.reduceLanes(VectorOperators.ADD);
        out[o + 2 * rows] = a2.reduceLanes(VectorOperators.ADD);
    }

    /** Four inputs per pass. */
    private void dot4(long p, float[] x, int x0, int x1, int x2, int x3, float[] out, int o, int m) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            for (int h = 0; h < HALF; h += STEP) {
                for (int part = 0; part < PARTS; part++) {
                    IntVector v = quantLanes(p + 2 + h, part);
                    FloatVector w = low(v);
                    int e = k + h + part * L;
                    s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                    s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                    s2 = w.fma(FloatVector.fromArray(F, x, x2 + e), s2);
                    s3 = w.fma(FloatVector.fromArray(F, x, x3 + e), s3);
                    w = high(v);
                    e += HALF;
                    s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                    s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                    s2 = w.fma(FloatVector.fromArray(F, x, x2 + e), s2);
                    s3 = w.fma(FloatVector.fromArray(F, x, x3 + e), s3);
                }
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
            a3 = s3.fma(d, a3);
        }
        out[o] = a0.reduceLanes(VectorOperators.ADD);
        if (m > 1) out[o + rows] = a1.reduceLanes(VectorOperators.ADD);
        if (m > 2) out[o + 2 * rows] = a2.reduceLanes(VectorOperators.ADD);
        if (m > 3) out[o + 3 * rows] = a3.reduceLanes(VectorOperators.ADD);
    }
}
