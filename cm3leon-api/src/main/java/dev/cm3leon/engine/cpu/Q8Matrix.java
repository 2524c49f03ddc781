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
 * GGUF Q8_0 weights: each row is blocks of 34 bytes, an f16 scale d then 32 signed bytes q; value = d · q. The dot
 * product sums q · x per block in f32 lanes and applies d once per block.
 *
 * <p>With 256-bit vectors (AVX2) decode takes a block's 32 quants as eight int lanes in one load and peels byte j of
 * every lane with two shifts: cheaper than widening bytes to ints, which limits this loop on such cores. Lane i then
 * holds value 4i + j, so the inputs of each block are laid out in that order ({@link #prepareInput}).
 */
public final class Q8Matrix extends MatrixWeights {
    private static final int BLOCK = 32, BLOCK_BYTES = 34;
    /** Bytes per load: as many as a float vector has lanes, but at least the smallest byte vector (8). */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    private static final int STEP = B.length(), PARTS = STEP / L;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Eight int lanes hold one block's quants exactly. */
    private static final boolean LANES = F.vectorBitSize() == 256;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;


    Q8Matrix(String name, int rows, int cols, MemorySegment data) {
        this(name, rows, cols, data, nativeProductFor(DType.Q8_0));
    }

    private Q8Matrix(String name, int rows, int cols, MemorySegment data, NativeKernels.Product nativeProduct) {
        super(name, rows, cols, data, nativeProduct);
        if (cols % BLOCK != 0) throw new IllegalArgumentException("'" + name + "': " + cols + " columns are not whole Q8_0 blocks");
    }

    @Override
    public DType dtype() {
        return DType.Q8_0;
    }

    @Override
    public MatrixWeights javaKernels() {
        return nativeProduct == null ? this : new Q8Matrix(name, rows, cols, data, null);
    }

    private float scale(long p) {
        return Float.float16ToFloat(data.get(F16, p));
    }

    private ByteVector quants(long p) {
        return ByteVector.fromMemorySegment(B, data, p, ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    void widen(int r, int k0, int len, float[] dst, int off) {
        long p = r * rowBytes + (long) (k0 / BLOCK) * BLOCK_BYTES;
        for (int k = 0; k < len; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector d = FloatVector.broadcast(F, scale(p));
            for (int j = 0; j < BLOCK; j += STEP) {
                ByteVector q = quants(p + 2 + j);
                for (int part = 0; part < PARTS; part++) {
                    ((FloatVector) q.convertShape(VectorOperators.B2F, F, part)).mul(d).intoArray(dst, off + k + j + part * L);
                }
            }
        }
    }

    @Override
    float[] prepareInput(float[] x, int n) {
        if (!LANES) return x;
        float[] xp = new float[n * cols];
        for (int b = 0; b < n * cols; b += BLOCK) {
            for (int j = 0; j < 4; j++) for (int i = 0; i < 8; i++) xp[b + 8 * j + i] = x[b + 4 * i + j];
        }
        return xp;
    }

    /** Byte j (0–3) of every int lane, sign-extended: value 4i + j of the block in lane i. */
    private static FloatVector lane(IntVector q, int j) {
        return (FloatVector) q.lanewise(VectorOperators.LSHL, 24 - 8 * j).lanewise(VectorOperators.ASHR, 24)
                .convert(VectorOperators.I2F, 0);
    }

    private IntVector blockLanes(long p) {
        return IntVector.fromMemorySegment(I, data, p + 2, ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    void dots(int r, float[] x, int t, int m, float[] out, float[] scratch) {
        int x0 = t * cols;
        if (LANES) {
            int x1 = m > 1 ? x0 + cols : x0, x2 = m > 2 ? x1 + cols : x1, x3 = m > 3 ? x2 + cols : x2;
            switch (m) {
                case 1 -> out[t * rows + r] = laneDot1(r * rowBytes, x, x0);
                case 2 -> laneDot2(r * rowBytes, x, x0, x1, out, t * rows + r);
                case 3 -> laneDot3(r * rowBytes, x, x0, x1, x2, out, t * rows + r);
                default -> laneDot4(r * rowBytes, x, x0, x1, x2, x3, out, t * rows + r, m);
            }
        } else {
            int x1 = m > 1 ? x0 + cols : x0, x2 = m > 2 ? x1 + cols : x1, x3 = m > 3 ? x2 + cols : x2;
            switch (m) {
                case 1 -> out[t * rows + r] = dot1(r * rowBytes, x, x0);
                case 2 -> dot2(r * rowBytes, x, x0, x1, out, t * rows + r);
                case 3 -> dot3(r * rowBytes, x, x0, x1, x2, out, t * rows + r);
                default -> dot4(r * rowBytes, x, x0, x1, x2, x3, out, t * rows + r, m);
            }
        }
    }

    /**
     * Per block: two chains of q · x in f32 lanes, then one FMA by the block's scale. Written out in one method: a
     * helper returning a vector that the JIT declines to inline would box every vector it returns.
     */
    private float dot1(long p, float[] x, int x0) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int c = 0; c < BLOCK / L; c += 2) {
                ByteVector q0 = quants(p + 2 + c * L / STEP * STEP), q1 = quants(p + 2 + (c + 1) * L / STEP * STEP);
                s0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, c * L % STEP / L)).fma(FloatVector.fromArray(F, x, x0 + k + c * L), s0);
                s1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, (c + 1) * L % STEP / L)).fma(FloatVector.fromArray(F, x, x0 + k + (c + 1) * L), s1);
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
        }
        return CpuOps.sumLanes(a0.add(a1));
    }

    private float laneDot1(long p, float[] x, int x0) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int k = x0, end = x0 + cols; k < end; k += BLOCK, p += BLOCK_BYTES) {
            IntVector q = blockLanes(p);
            FloatVector s0 = lane(q, 0).mul(FloatVector.fromArray(F, x, k));
            FloatVector s1 = lane(q, 1).mul(FloatVector.fromArray(F, x, k + 8));
            s0 = lane(q, 2).fma(FloatVector.fromArray(F, x, k + 16), s0);
            s1 = lane(q, 3).fma(FloatVector.fromArray(F, x, k + 24), s1);
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
        }
        return CpuOps.sumLanes(a0.add(a1));
    }

    /** Two inputs (2-stream guidance): written out, so no lanes are spent on inputs that are not there. */
    private void laneDot2(long p, float[] x, int x0, int x1, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), b0 = FloatVector.zero(F), b1 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            IntVector q = blockLanes(p);
            FloatVector w0 = lane(q, 0), w1 = lane(q, 1), w2 = lane(q, 2), w3 = lane(q, 3);
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, x0 + k)), s1 = w1.mul(FloatVector.fromArray(F, x, x0 + k + 8));
            FloatVector t0 = w0.mul(FloatVector.fromArray(F, x, x1 + k)), t1 = w1.mul(FloatVector.fromArray(F, x, x1 + k + 8));
            s0 = w2.fma(FloatVector.fromArray(F, x, x0 + k + 16), s0);
            s1 = w3.fma(FloatVector.fromArray(F, x, x0 + k + 24), s1);
            t0 = w2.fma(FloatVector.fromArray(F, x, x1 + k + 16), t0);
            t1 = w3.fma(FloatVector.fromArray(F, x, x1 + k + 24), t1);
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            b0 = t0.fma(d, b0);
            b1 = t1.fma(d, b1);
        }
        out[o] = CpuOps.sumLanes(a0.add(a1));
        out[o + rows] = CpuOps.sumLanes(b0.add(b1));
    }

    /** Three inputs (3-stream guidance). */
    private void laneDot3(long p, float[] x, int x0, int x1, int x2, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            IntVector q = blockLanes(p);
            FloatVector w0 = lane(q, 0), w1 = lane(q, 1), w2 = lane(q, 2), w3 = lane(q, 3);
            FloatVector s0 = w0.mul(FloatVector.fromArray(F, x, x0 + k)), s1 = w0.mul(FloatVector.fromArray(F, x, x1 + k));
            FloatVector s2 = w0.mul(FloatVector.fromArray(F, x, x2 + k));
            s0 = w1.fma(FloatVector.fromArray(F, x, x0 + k + 8), s0);
            s1 = w1.fma(FloatVector.fromArray(F, x, x1 + k + 8), s1);
            s2 = w1.fma(FloatVector.fromArray(F, x, x2 + k + 8), s2);
            s0 = w2.fma(FloatVector.fromArray(F, x, x0 + k + 16), s0);
            s1 = w2.fma(FloatVector.fromArray(F, x, x1 + k + 16), s1);
            s2 = w2.fma(FloatVector.fromArray(F, x, x2 + k + 16), s2);
            s0 = w3.fma(FloatVector.fromArray(F, x, x0 + k + 24), s0);
            s1 = w3.fma(FloatVector.fromArray(F, x, x1 + k + 24), s1);
            s2 = w3.fma(FloatVector.fromArray(F, x, x2 + k + 24), s2);
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
        }
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
        out[o + 2 * rows] = CpuOps.sumLanes(a2);
    }

    private void laneDot4(long p, float[] x, int x0, int x1, int x2, int x3, float[] out, int o, int m) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            IntVector q = blockLanes(p);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            for (int j = 0; j < 4; j++) {
                FloatVector w = lane(q, j);
                int e = k + 8 * j;
                s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                s2 = w.fma(FloatVector.fromArray(F, x, x2 + e), s2);
                s3 = w.fma(FloatVector.fromArray(F, x, x3 + e), s3);
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
            a3 = s3.fma(d, a3);
        }
        out[o] = CpuOps.sumLanes(a0);
        if (m > 1) out[o + rows] = CpuOps.sumLanes(a1);
        if (m > 2) out[o + 2 * rows] = CpuOps.sumLanes(a2);
        if (m > 3) out[o + 3 * rows] = CpuOps.sumLanes(a3);
    }

    /** Two inputs on wide vectors (AVX-512): no lanes spent on inputs that are not there. */
    private void dot2(long p, float[] x, int x0, int x1, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += STEP) {
                ByteVector q = quants(p + 2 + j);
                for (int part = 0; part < PARTS; part++) {
                    FloatVector w = (FloatVector) q.convertShape(VectorOperators.B2F, F, part);
                    int e = k + j + part * L;
                    s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                    s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                }
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
        }
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
    }

    /** Three inputs on wide vectors. */
    private void dot3(long p, float[] x, int x0, int x1, int x2, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += STEP) {
                ByteVector q = quants(p + 2 + j);
                for (int part = 0; part < PARTS; part++) {
                    FloatVector w = (FloatVector) q.convertShape(VectorOperators.B2F, F, part);
                    int e = k + j + part * L;
                    s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                    s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                    s2 = w.fma(FloatVector.fromArray(F, x, x2 + e), s2);
                }
            }
            FloatVector d = FloatVector.broadcast(F, scale(p));
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
        }
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
        out[o + 2 * rows] = CpuOps.sumLanes(a2);
    }

    /** Up to four inputs per pass; missing ones repeat the last (their sums are not stored). */
    private void dot4(long p, float[] x, int x0, int x1, int x2, int x3, float[] out, int o, int m) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += BLOCK, p += BLOCK_BYTES) {
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            for (int j = 0; j < BLOCK; j += STEP) {
                ByteVector q = quants(p + 2 + j);
                for (int part = 0; part < PARTS; part++) {
                    FloatVector w = (FloatVector) q.convertShape(VectorOperators.B2F, F, part);
                    int e = k + j + part * L;
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
        out[o] = CpuOps.sumLanes(a0);
        if (m > 1) out[o + rows] = CpuOps.sumLanes(a1);
        if (m > 2) out[o + 2 * rows] = CpuOps.sumLanes(a2);
        if (m > 3) out[o + 3 * rows] = CpuOps.sumLanes(a3);
    }
}
