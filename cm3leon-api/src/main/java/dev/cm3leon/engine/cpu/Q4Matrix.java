package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * GGUF Q4_0 weights: each row is blocks of 18 bytes, an f16 scale d then 16 bytes whose low nibbles are values 0–15
 * and high nibbles values 16–31; value = d · (nibble − 8). One load of quant bytes yields two runs of values.
 *
 * <p>With 256-bit vectors (AVX2) and rows of whole block pairs, decode reads two blocks' 32 quant bytes as eight int
 * lanes (two overlapping loads, blended: the pair's second scale sits between them) and peels nibble j of every lane
 * with two shifts, after flipping each nibble's top bit so that its signed value is nibble − 8. Lane i then holds a
 * value of block i / 4, so inputs are laid out to match ({@link #prepareInput}) and the pair's two scales are widened
 * from f16 in int lanes: this avoids the byte-to-int conversions and the scalar scale per block that bound the
 * general loop on such cores (1.3× in cache, one thread).
 */
public final class Q4Matrix extends MatrixWeights {
    private static final int BLOCK = 32, HALF = 16, BLOCK_BYTES = 18;
    /** Bytes per load: as many as a float vector has lanes (at most a half block), at least 8. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final int STEP = B.length(), PARTS = STEP / L;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Two blocks fill eight int lanes: the pair layout's vector shape. */
    private static final boolean LANES = F.vectorBitSize() == 256;
    private static final int PAIR = 2 * BLOCK, PAIR_BYTES = 2 * BLOCK_BYTES;
    private static final VectorSpecies<Integer> I8 = IntVector.SPECIES_256;
    /** Lanes 4–7 come from the second load, which starts 2 bytes later: at the second block's quants. */
    private static final VectorMask<Integer> SECOND_BLOCK = VectorMask.fromLong(I8, 0xF0);
    /** A 256-bit load at the pair's start has the first scale in lane 0's low half, the second in lane 4's high half. */
    private static final IntVector SCALE_SHIFT = IntVector.fromArray(I8, new int[]{0, 0, 0, 0, 16, 16, 16, 16}, 0);
    private static final VectorShuffle<Integer> SCALE_LANES = VectorShuffle.fromArray(I8, new int[]{0, 0, 0, 0, 4, 4, 4, 4}, 0);

    /** Decode uses the pair layout (see the class comment). */
    private final boolean pairs;

    Q4Matrix(String name, int rows, int cols, MemorySegment data) {
        this(name, rows, cols, data, nativeProductFor(DType.Q4_0));
    }

    private Q4Matrix(String name, int rows, int cols, MemorySegment data, NativeKernels.Product nativeProduct) {
        super(name, rows, cols, data, nativeProduct);
        if (cols % BLOCK != 0) throw new IllegalArgumentException("'" + name + "': " + cols + " columns are not whole Q4_0 blocks");
        if (L > HALF) throw new IllegalStateException("Q4_0 needs float vectors of at most 16 lanes, this CPU has " + L);
        this.pairs = LANES && cols % PAIR == 0;
    }

    @Override
    public DType dtype() {
        return DType.Q4_0;
    }

    @Override
    public MatrixWeights javaKernels() {
        return nativeProduct == null ? this : new Q4Matrix(name, rows, cols, data, null);
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
        if (pairs) {
            for (int r = r0; r < r1; r++) out[r] = pairDot1(r * rowBytes, x, 0);
        } else {
            for (int r = r0; r < r1; r++) out[r] = dot1(r * rowBytes, x, 0);
        }
    }

    @Override
    void dots(int r, float[] x, int t, int m, float[] out, float[] scratch) {
        int x0 = t * cols;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        if (pairs) {
            switch (m) {
                case 1 -> out[t * rows + r] = pairDot1(r * rowBytes, x, x0);
                case 2 -> pairDot2(r * rowBytes, x, x0, x1, out, t * rows + r);
                case 3 -> pairDot3(r * rowBytes, x, x0, x1, x2, out, t * rows + r);
                default -> pairDot4(r * rowBytes, x, x0, x1, x2, x3, out, t * rows + r);
            }
            return;
        }
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
        return CpuOps.sumLanes(a0.add(a1));
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
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
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
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
        out[o + 2 * rows] = CpuOps.sumLanes(a2);
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
        out[o] = CpuOps.sumLanes(a0);
        if (m > 1) out[o + rows] = CpuOps.sumLanes(a1);
        if (m > 2) out[o + 2 * rows] = CpuOps.sumLanes(a2);
        if (m > 3) out[o + 3 * rows] = CpuOps.sumLanes(a3);
    }

    /**
     * Value j of lane i of a pair (64 values, two blocks) is read from position 8j + i: lane i holds quant bytes
     * 4(i mod 4)..+3 of block i / 4, and nibble j of it is byte j / 2's low (j even: value b) or high (value b + 16)
     * nibble.
     */
    @Override
    float[] prepareInput(float[] x, int n) {
        if (!pairs) return x;
        float[] xp = new float[n * cols];
        for (int base = 0; base < n * cols; base += PAIR) {
            for (int j = 0; j < 8; j++) {
                for (int i = 0; i < 8; i++) {
                    xp[base + 8 * j + i] = x[base + (i / 4) * BLOCK + (j % 2) * HALF + 4 * (i % 4) + j / 2];
                }
            }
        }
        return xp;
    }

    /** The pair's 64 quants as eight int lanes, each nibble's top bit flipped: a nibble read as signed is then q − 8. */
    private IntVector pairQuants(long p) {
        return IntVector.fromMemorySegment(I8, data, p + 2, ByteOrder.LITTLE_ENDIAN)
                .blend(IntVector.fromMemorySegment(I8, data, p + 4, ByteOrder.LITTLE_ENDIAN), SECOND_BLOCK)
                .lanewise(VectorOperators.XOR, 0x88888888);
    }

    /**
     * The pair's scales, the first in lanes 0–3 and the second in 4–7, widened from f16 in int lanes (two scalar
     * widenings and broadcasts per pair cost more on these cores): magnitude bits moved into f32 position and scaled
     * by 2^112, which is exact for zeros, subnormals and normals alike (infinities and NaNs, which no quantizer writes,
     * are carried over too), then the sign.
     */
    private FloatVector pairScales(long p) {
        IntVector h = IntVector.fromMemorySegment(I8, data, p, ByteOrder.LITTLE_ENDIAN)
                .lanewise(VectorOperators.LSHR, SCALE_SHIFT).rearrange(SCALE_LANES);
        IntVector bits = h.and(0x7FFF).lanewise(VectorOperators.LSHL, 13);
        IntVector magnitude = bits.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                .blend(bits.or(0x7F800000), h.and(0x7C00).compare(VectorOperators.EQ, 0x7C00));   // infinities, NaNs
        return magnitude.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }

    /*
     * The kernels below write out nibble j's extraction, (q << 28 − 4j) >> 28 as f32, rather than call a helper: a
     * helper returning a vector that the JIT declines to inline would box every vector it returns.
     */

    private float pairDot1(long p, float[] x, int x0) {
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k < cols; k += PAIR, p += PAIR_BYTES) {
            IntVector q = pairQuants(p);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int j = 0; j < 8; j += 2) {
                int e = x0 + k + 8 * j;
                FloatVector w0 = (FloatVector) q.lanewise(VectorOperators.LSHL, 28 - 4 * j).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
                FloatVector w1 = (FloatVector) q.lanewise(VectorOperators.LSHL, 24 - 4 * j).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
                s0 = w0.fma(FloatVector.fromArray(F, x, e), s0);
                s1 = w1.fma(FloatVector.fromArray(F, x, e + L), s1);
            }
            a = s0.add(s1).fma(pairScales(p), a);
        }
        return CpuOps.sumLanes(a);
    }

    private void pairDot2(long p, float[] x, int x0, int x1, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += PAIR, p += PAIR_BYTES) {
            IntVector q = pairQuants(p);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F);
            for (int j = 0; j < 8; j++) {
                int e = k + 8 * j;
                FloatVector w = (FloatVector) q.lanewise(VectorOperators.LSHL, 28 - 4 * j).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
                s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
            }
            FloatVector d = pairScales(p);
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
        }
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
    }

    private void pairDot3(long p, float[] x, int x0, int x1, int x2, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += PAIR, p += PAIR_BYTES) {
            IntVector q = pairQuants(p);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F);
            for (int j = 0; j < 8; j++) {
                int e = k + 8 * j;
                FloatVector w = (FloatVector) q.lanewise(VectorOperators.LSHL, 28 - 4 * j).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
                s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                s2 = w.fma(FloatVector.fromArray(F, x, x2 + e), s2);
            }
            FloatVector d = pairScales(p);
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
        }
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
        out[o + 2 * rows] = CpuOps.sumLanes(a2);
    }

    private void pairDot4(long p, float[] x, int x0, int x1, int x2, int x3, float[] out, int o) {
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        for (int k = 0; k < cols; k += PAIR, p += PAIR_BYTES) {
            IntVector q = pairQuants(p);
            FloatVector s0 = FloatVector.zero(F), s1 = FloatVector.zero(F), s2 = FloatVector.zero(F), s3 = FloatVector.zero(F);
            for (int j = 0; j < 8; j++) {
                int e = k + 8 * j;
                FloatVector w = (FloatVector) q.lanewise(VectorOperators.LSHL, 28 - 4 * j).lanewise(VectorOperators.ASHR, 28).convert(VectorOperators.I2F, 0);
                s0 = w.fma(FloatVector.fromArray(F, x, x0 + e), s0);
                s1 = w.fma(FloatVector.fromArray(F, x, x1 + e), s1);
                s2 = w.fma(FloatVector.fromArray(F, x, x2 + e), s2);
                s3 = w.fma(FloatVector.fromArray(F, x, x3 + e), s3);
            }
            FloatVector d = pairScales(p);
            a0 = s0.fma(d, a0);
            a1 = s1.fma(d, a1);
            a2 = s2.fma(d, a2);
            a3 = s3.fma(d, a3);
        }
        out[o] = CpuOps.sumLanes(a0);
        out[o + rows] = CpuOps.sumLanes(a1);
        out[o + 2 * rows] = CpuOps.sumLanes(a2);
        out[o + 3 * rows] = CpuOps.sumLanes(a3);
    }
}
