package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The prompt's products for Q8_0 and Q4_0 weights on CPUs with AVX-512 VNNI: each 32-value block of an input row is
 * quantized to int8 with its own scale, as the weights are, and blocks are multiplied as integers (the native
 * {@code cm3_gemm_int8_*} bodies, 64 byte products per instruction where an f32 FMA does 16), then scaled:
 * {@code out[t, r] = Σ_b (Σ_k qw · qx) · (dw_b · dx_b)}, one fused multiply-add per block in block order. This is how
 * llama.cpp multiplies quantized weights; it adds the inputs' own rounding (at most half a step of each block's
 * scale per value) to the weights', which the quantization accuracy tests bound.
 *
 * <p>Only prompts take this path (products of at least {@link MatrixWeights#BLOCKED_MIN_ROWS} inputs of one stream):
 * decode keeps f32 inputs. Each input row is quantized alone, so its outputs do not depend on the rows beside it.
 * {@link #reference} computes the same bits in Java, the native bodies' twin in tests.
 */
final class Int8Prefill {
    static final int BLOCK = 32;
    /** Rows of one native tile: threads split the rows in whole tiles. */
    static final int TILE_ROWS = 32;
    /**
     * Input rows per native call (its accumulators hold this many tokens): each call repacks the weights it reads, so
     * a 512-token prompt packs them once.
     */
    static final int TOKENS = 512;
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Int8Prefill() {
    }

    /**
     * Input rows [t0, t0 + tn) of x [n, cols], quantized per 32-value block.
     *
     * @param q     [tn, cols] the int8 values, round(x / d) with d = max |x| / 127 over the block
     * @param scale [tn, blocks] d of each block (0 for a block of zeros)
     * @param sum   [tn, blocks] the sum of each block's int8 values (the native bodies take the weights unsigned)
     */
    record Quantized(byte[] q, float[] scale, int[] sum, int tokens, int cols) {
        int blocks() {
            return cols / BLOCK;
        }
    }

    static Quantized quantize(float[] x, int cols, int t0, int tn) {
        int blocks = cols / BLOCK;
        Quantized out = new Quantized(new byte[tn * cols], new float[tn * blocks], new int[tn * blocks], tn, cols);
        Parallel.forRange(tn, 4, (a, b) -> {
            for (int t = a; t < b; t++) quantizeRow(x, (t0 + t) * cols, out, t);
        });
        return out;
    }

    /** Input row x[src, src + cols) into row t of {@code out}. */
    private static void quantizeRow(float[] x, int src, Quantized out, int t) {
        int cols = out.cols(), blocks = out.blocks();
        for (int b = 0; b < blocks; b++) {
            int from = src + b * BLOCK, dst = t * cols + b * BLOCK;
            float amax = 0f;
            for (int k = 0; k < BLOCK; k++) amax = Math.max(amax, Math.abs(x[from + k]));
            float d = amax / 127f, inv = d == 0f ? 0f : 1f / d;
            int s = 0;
            for (int k = 0; k < BLOCK; k++) {
                // |x · inv| ≤ 127 up to rounding; the clamp keeps a rounded-up 127.5 in range.
                int v = Math.max(-127, Math.min(127, (int) Math.rint(x[from + k] * inv)));
                out.q()[dst + k] = (byte) v;
                s += v;
            }
            out.scale()[t * blocks + b] = d;
            out.sum()[t * blocks + b] = s;
        }
    }

    /** Whether {@code w}'s prompt products take this path on this machine. */
    static boolean applies(MatrixWeights w) {
        return w.nativeProduct != null && w.nativeProduct.hasInt8Gemm();
    }

    /** out [n, rows] = x [n, cols] · Wᵀ through the native int8 bodies ({@link #applies} must hold). */
    static void multiply(MatrixWeights w, float[] x, int n, float[] out) {
        NativeKernels.Product p = w.nativeProduct;
        int tiles = (w.rows + TILE_ROWS - 1) / TILE_ROWS;
        for (int t0 = 0; t0 < n; t0 += TOKENS) {
            int tn = Math.min(TOKENS, n - t0), first = t0;
            Quantized xq = quantize(x, w.cols, t0, tn);
            Parallel.forRange(tiles, 1, (a, b) -> p.int8GemmRows(w.data, w.rowBytes, w.cols, w.rows, a * TILE_ROWS,
                    Math.min(w.rows, b * TILE_ROWS), xq, first, out));
        }
    }

    /** The native bodies' arithmetic in Java, for rows [r0, r1) and the quantized tokens starting at token t0 of out. */
    static void reference(MatrixWeights w, Quantized xq, int r0, int r1, int t0, float[] out) {
        DType type = w.dtype();
        if (type != DType.Q8_0 && type != DType.Q4_0) throw new IllegalArgumentException("int8 prompt products take Q8_0 or Q4_0, not " + type);
        int blocks = xq.blocks(), blockBytes = type == DType.Q8_0 ? 34 : 18;
        for (int r = r0; r < r1; r++) {
            long row = r * w.rowBytes;
            for (int t = 0; t < xq.tokens(); t++) {
                float acc = 0f;
                for (int b = 0; b < blocks; b++) {
                    long p = row + (long) b * blockBytes;
                    float dw = Float.float16ToFloat(w.data.get(F16, p));
                    int s = 0;
                    for (int k = 0; k < BLOCK; k++) {
                        int qw = type == DType.Q8_0
                                ? w.data.get(ValueLayout.JAVA_BYTE, p + 2 + k)
                                : ((w.data.get(ValueLayout.JAVA_BYTE, p + 2 + (k & 15)) >> (k < 16 ? 0 : 4)) & 0xF) - 8;
                        s += qw * xq.q()[t * xq.cols() + b * BLOCK + k];
                    }
                    acc = Math.fma((float) s, dw * xq.scale()[t * blocks + b], acc);
                }
                out[(t0 + t) * w.rows + r] = acc;
            }
        }
    }
}
