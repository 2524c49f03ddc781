package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The product of a weight matrix with many input rows (prefill): {@code out [n, rows] = x [n, cols] · Wᵀ}, blocked so
 * that it is bound by FMA throughput rather than memory.
 *
 * <p>The register tile is {@link #MR} weight rows × {@link #NR} tokens (two vectors): per k, two vector loads of
 * packed inputs and six broadcast weights feed twelve FMAs, with twelve accumulators that stay in registers (an AVX2
 * core has sixteen). K is cut into blocks of {@link #KC}: a tile's widened weight panel [MR, KC] and its input panel
 * [KC, NR] together fit in L1, and a block of {@link #NB} tokens' packed inputs stays in L2 while every weight tile
 * passes over it. Weights are widened to f32 once per tile and block, then reused for {@code NB} tokens, so storage
 * types cost the same here. Threads split the weight rows.
 *
 * <p>Where the native kernels are loaded ({@link NativeKernels}) and their packed layout is this one (the same
 * {@link #NR}, {@link #KC} and {@link #NB}), the tiles run natively over the inputs packed here: the same algorithm
 * with a taller tile (12 rows with AVX-512), register-resident accumulators and broadcasts straight from the panel.
 */
final class BlockedMatmul {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    static final int MR = 6;
    static final int NR = 2 * L;
    /** A multiple of the 32-value quantization block, so quantized rows widen in whole blocks (gemm.c's KC too). */
    static final int KC = 256;
    static final int NB = 4 * NR;

    private BlockedMatmul() {
    }

    static void multiply(MatrixWeights w, float[] x, int n, float[] out) {
        NativeKernels.Product np = w.nativeProduct;
        if (np != null && np.hasPairGemm() && w.cols % 2 == 0) {
            multiplyPairs(w, np, x, n, out);
        } else {
            multiplyTiles(w, x, n, out);
        }
    }

    /** The f32 tiles (native where {@link NativeKernels.Product#hasGemm}), whatever else the CPU offers. */
    static void multiplyTiles(MatrixWeights w, float[] x, int n, float[] out) {
        int cols = w.cols;
        int tiles = (w.rows + MR - 1) / MR;
        float[] packed = new float[cols * NB];                   // [K blocks][NB/NR][kc][NR]
        for (int t0 = 0; t0 < n; t0 += NB) {
            int tn = Math.min(NB, n - t0);
            int first = t0;
            int kBlocks = (cols + KC - 1) / KC;
            Parallel.forRange(kBlocks, 1, (b0, b1) -> packInputs(x, cols, first, tn, packed, b0, b1));
            NativeKernels.Product p = w.nativeProduct;
            if (p != null && p.hasGemm()) {
                // The native tiles (their own height) over rows split among the threads.
                Parallel.forRange(w.rows, 32, (a, b) -> p.gemmRows(w.data, w.rowBytes, cols, w.rows, a, b, packed, first, tn, out));
                continue;
            }
            Parallel.forRange(tiles, 1, (a, b) -> {
                float[] panel = new float[MR * KC];
                float[] acc = new float[NB / NR * MR * NR];      // [NB/NR][MR][NR]
                for (int tile = a; tile < b; tile++) tile(w, tile * MR, packed, first, tn, panel, acc, out);
            });
        }
    }

    /**
     * bf16 weights with bf16 inputs, where {@code -Dcm3leon.cpu.prompt=bf16} asks for them on a CPU with AVX-512 BF16:
     * the inputs rounded to bf16 in pairs ({@link #packBf16Pairs}) and multiplied natively with the weights as stored
     * (gemm_bf16_bf16in.c), twice the products per instruction of the f32 tiles.
     */
    static void multiplyPairs(MatrixWeights w, NativeKernels.Product p, float[] x, int n, float[] out) {
        int cols = w.cols, kBlocks = (cols + KC - 1) / KC;
        int[] packed = new int[cols * NB / 2];
        for (int t0 = 0; t0 < n; t0 += NB) {
            int tn = Math.min(NB, n - t0), first = t0;
            Parallel.forRange(kBlocks, 1, (b0, b1) -> packBf16Pairs(x, cols, first, tn, packed, b0, b1));
            Parallel.forRange(w.rows, 32, (a, b) -> p.pairGemmRows(w.data, w.rowBytes, cols, w.rows, a, b,
                    packed, first, tn, out));
        }
    }

    /**
     * As {@link #packInputs} with each pair of k (k even) rounded to bf16 in one 32-bit word: per k-pair of a
     * micro-block, one word per token, {@code bf16(x[t, k + 1]) << 16 | bf16(x[t, k])}. {@code cols} must be even;
     * tokens past {@code tn} are zero.
     */
    static void packBf16Pairs(float[] x, int cols, int t0, int tn, int[] packed, int b0, int b1) {
        for (int b = b0; b < b1; b++) {
            int k0 = b * KC, kc = Math.min(KC, cols - k0);
            Arrays.fill(packed, k0 * NB / 2, (k0 + kc) * NB / 2, 0);
            for (int t = 0; t < tn; t++) {
                int src = (t0 + t) * cols + k0;
                int dst = k0 * NB / 2 + (t / NR) * kc * NR / 2 + t % NR;
                for (int k = 0; k < kc; k += 2) packed[dst + k / 2 * NR] = bf16(x[src + k + 1]) << 16 | bf16(x[src + k]);
            }
        }
    }

    /** f32 → bf16 bits, rounded to nearest even (inputs are finite activations). */
    static int bf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        return (bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16 & 0xFFFF;
    }

    /**
     * Transposes x[t0 .. t0+tn) × K blocks [b0, b1) into {@code packed}: within a K block of length kc, the tokens
     * of micro-block j are at {@code k0·NB + j·kc·NR + (k − k0)·NR + (t mod NR)}. Tokens past {@code tn} are zero.
     */
    static void packInputs(float[] x, int cols, int t0, int tn, float[] packed, int b0, int b1) {
        for (int b = b0; b < b1; b++) {
            int k0 = b * KC, kc = Math.min(KC, cols - k0);
            Arrays.fill(packed, k0 * NB, k0 * NB + kc * NB, 0f);
            for (int t = 0; t < tn; t++) {
                int src = (t0 + t) * cols + k0;
                int dst = k0 * NB + (t / NR) * kc * NR + t % NR;
                for (int k = 0; k < kc; k++) packed[dst + k * NR] = x[src + k];
            }
        }
    }

    /** Rows [r0, r0+MR) against the packed token block; results are transposed into out at the end. */
    private static void tile(MatrixWeights w, int r0, float[] packed, int t0, int tn, float[] panel, float[] acc, float[] out) {
        int mr = Math.min(MR, w.rows - r0);
        int micro = (tn + NR - 1) / NR;
        for (int k0 = 0; k0 < w.cols; k0 += KC) {
            int kc = Math.min(KC, w.cols - k0);
            for (int i = 0; i < mr; i++) w.widen(r0 + i, k0, kc, panel, i * kc);
            if (mr < MR) Arrays.fill(panel, mr * kc, MR * kc, 0f);
            for (int j = 0; j < micro; j++) kernel(panel, kc, packed, k0 * NB + j * kc * NR, acc, j * MR * NR, k0 > 0);
        }
        for (int i = 0; i < mr; i++) {
            for (int t = 0; t < tn; t++) out[(t0 + t) * w.rows + r0 + i] = acc[(t / NR) * MR * NR + i * NR + t % NR];
        }
    }

    /** acc[i][j] (+)= Σ_k panel[i·kc + k] · packed[xo + k·NR + j] for the MR × NR tile. */
    static void kernel(float[] panel, int kc, float[] packed, int xo, float[] acc, int ao, boolean accumulate) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate) {
            c00 = FloatVector.fromArray(F, acc, ao);
            c01 = FloatVector.fromArray(F, acc, ao + L);
            c10 = FloatVector.fromArray(F, acc, ao + NR);
            c11 = FloatVector.fromArray(F, acc, ao + NR + L);
            c20 = FloatVector.fromArray(F, acc, ao + 2 * NR);
            c21 = FloatVector.fromArray(F, acc, ao + 2 * NR + L);
            c30 = FloatVector.fromArray(F, acc, ao + 3 * NR);
            c31 = FloatVector.fromArray(F, acc, ao + 3 * NR + L);
            c40 = FloatVector.fromArray(F, acc, ao + 4 * NR);
            c41 = FloatVector.fromArray(F, acc, ao + 4 * NR + L);
            c50 = FloatVector.fromArray(F, acc, ao + 5 * NR);
            c51 = FloatVector.fromArray(F, acc, ao + 5 * NR + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = FloatVector.zero(F);
        }
        for (int k = 0; k < kc; k++) {
            int o = xo + k * NR;
            FloatVector b0 = FloatVector.fromArray(F, packed, o), b1 = FloatVector.fromArray(F, packed, o + L);
            FloatVector a = FloatVector.broadcast(F, panel[k]);
            c00 = b0.fma(a, c00);
            c01 = b1.fma(a, c01);
            a = FloatVector.broadcast(F, panel[kc + k]);
            c10 = b0.fma(a, c10);
            c11 = b1.fma(a, c11);
            a = FloatVector.broadcast(F, panel[2 * kc + k]);
            c20 = b0.fma(a, c20);
            c21 = b1.fma(a, c21);
            a = FloatVector.broadcast(F, panel[3 * kc + k]);
            c30 = b0.fma(a, c30);
            c31 = b1.fma(a, c31);
            a = FloatVector.broadcast(F, panel[4 * kc + k]);
            c40 = b0.fma(a, c40);
            c41 = b1.fma(a, c41);
            a = FloatVector.broadcast(F, panel[5 * kc + k]);
            c50 = b0.fma(a, c50);
            c51 = b1.fma(a, c51);
        }
        c00.intoArray(acc, ao);
        c01.intoArray(acc, ao + L);
        c10.intoArray(acc, ao + NR);
        c11.intoArray(acc, ao + NR + L);
        c20.intoArray(acc, ao + 2 * NR);
        c21.intoArray(acc, ao + 2 * NR + L);
        c30.intoArray(acc, ao + 3 * NR);
        c31.intoArray(acc, ao + 3 * NR + L);
        c40.intoArray(acc, ao + 4 * NR);
        c41.intoArray(acc, ao + 4 * NR + L);
        c50.intoArray(acc, ao + 5 * NR);
        c51.intoArray(acc, ao + 5 * NR + L);
    }
}
