package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The int8 prompt products (AVX-512 VNNI) against their Java twin, bit for bit, and against the exact product within
 * the bound the inputs' quantization allows, on fresh random shapes (the seed is in each failure message).
 */
class Int8PrefillTest {
    private static final Arena ARENA = Arena.ofShared();

    @AfterAll
    static void close() {
        ARENA.close();
    }

    private static NativeKernels.Product product(DType type) {
        NativeKernels kernels = NativeKernels.forIsa("avx512");
        assumeTrue(kernels != null, "no AVX-512 kernels on this machine");
        NativeKernels.Product p = kernels.product(type);
        assumeTrue(p.hasInt8Gemm(), "this CPU has no AVX-512 VNNI");
        return p;
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void theNativeBodiesGiveTheJavaTwinsBitsOnFreshRandomShapes(DType type) {
        NativeKernels.Product p = product(type);
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int draw = 0; draw < 6; draw++) {
            int rows = 1 + rnd.nextInt(80);
            // Up to 100 blocks: past the native K chunk (64 blocks), so accumulators carry across chunks.
            int cols = 32 * (1 + rnd.nextInt(100));
            int tn = 1 + rnd.nextInt(Int8Prefill.TOKENS), t0 = rnd.nextInt(3);
            Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
            MatrixWeights w = MatrixWeights.of(t);
            float[] x = RandomWeights.floats((t0 + tn) * cols, rnd);
            Int8Prefill.Quantized xq = Int8Prefill.quantize(x, cols, t0, tn);
            float[] nat = new float[(t0 + tn) * rows], java = new float[(t0 + tn) * rows];
            // Rows in two calls split at a random point (threads split rows): the tiles past it start mid-matrix.
            int split = rnd.nextInt(rows + 1);
            p.int8GemmRows(t.data(), w.rowBytes, cols, rows, 0, split, xq, t0, nat);
            p.int8GemmRows(t.data(), w.rowBytes, cols, rows, split, rows, xq, t0, nat);
            Int8Prefill.reference(w, xq, 0, rows, t0, java);
            assertThat(nat).as("seed %d draw %d: %s %d×%d, %d tokens from %d, split at row %d", seed, draw, type, rows,
                    cols, tn, t0, split).containsExactly(java);
        }
    }

    /**
     * Whole matrices of many row tiles through {@link Int8Prefill#multiply}, threads splitting the tiles as they do in
     * a prompt: a tile count that the thread chunks do not divide (27 tiles of the demo model's 864 rows) once
     * produced an empty trailing chunk whose rows the native bounds check refused.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void wholeMatricesOfManyTilesGiveTheJavaTwinsBits(DType type) {
        product(type);
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int[] rowChoices = {864, 27 * 32 + 5, 33 * 32, 1 + rnd.nextInt(1500)};
        for (int rows : rowChoices) {
            int cols = 32 * (1 + rnd.nextInt(6));
            int n = MatrixWeights.BLOCKED_MIN_ROWS + rnd.nextInt(90);
            Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
            MatrixWeights w = MatrixWeights.of(t);
            float[] x = RandomWeights.floats(n * cols, rnd), out = new float[n * rows], java = new float[n * rows];
            Int8Prefill.multiply(w, x, n, out);
            Int8Prefill.reference(w, Int8Prefill.quantize(x, cols, 0, n), 0, rows, 0, java);
            assertThat(out).as("seed %d: %s %d×%d, %d tokens", seed, type, rows, cols, n).containsExactly(java);
        }
    }

    /**
     * Each input value moves by at most half its block's step d/2 when quantized, so an output moves by at most
     * Σ_k |w_k| · d_b / 2 beyond f32 rounding: the int8 product is the exact one up to that, whatever the shape.
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0"})
    void theProductIsTheExactOneWithinTheInputsQuantizationStep(DType type) {
        product(type);
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int draw = 0; draw < 4; draw++) {
            int rows = 1 + rnd.nextInt(70), cols = 32 * (1 + rnd.nextInt(40));
            int n = MatrixWeights.BLOCKED_MIN_ROWS + rnd.nextInt(Int8Prefill.TOKENS + 64);   // one or two calls
            Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
            MatrixWeights w = MatrixWeights.of(t);
            assertThat(Int8Prefill.applies(w)).isTrue();
            float[] x = RandomWeights.floats(n * cols, rnd), out = new float[n * rows];
            w.matmul(x, n, out);
            Int8Prefill.Quantized xq = Int8Prefill.quantize(x, cols, 0, n);
            boolean moved = false;
            for (int tok = 0; tok < n; tok++) {
                for (int r = 0; r < rows; r++) {
                    double[] exact = MatrixWeightsTest.reference(t, x, tok, r);
                    double bound = 0;
                    for (int b = 0; b < cols / 32; b++) {
                        double wsum = 0;
                        for (int k = b * 32; k < b * 32 + 32; k++) wsum += Math.abs(t.getFloat((long) r * cols + k));
                        bound += wsum * xq.scale()[tok * (cols / 32) + b] / 2;
                    }
                    double got = out[tok * rows + r];
                    assertThat(got).as("seed %d draw %d: %s %d×%d, token %d row %d", seed, draw, type, rows, cols, tok, r)
                            .isCloseTo(exact[0], org.assertj.core.data.Offset.offset(bound + 4e-6 * exact[1] + 1e-6));
                    moved |= got != (float) exact[0];
                }
            }
            assertThat(moved).as("the inputs were quantized: some output differs from the f32 product").isTrue();
        }
    }

    @Test
    void eachTokenGetsTheSameBitsWhateverTokensAreBesideIt() {
        product(DType.Q4_0);
        Random rnd = new Random(new Random().nextLong());
        int rows = 40, cols = 32 * 12;
        Tensor t = RandomWeights.tensor("w", DType.Q4_0, rows, cols, rnd, ARENA);
        MatrixWeights w = MatrixWeights.of(t);
        int n = 150;
        float[] x = RandomWeights.floats(n * cols, rnd), all = new float[n * rows];
        w.matmul(x, n, all);
        // The same tokens in a block of 8 starting elsewhere: other neighbours, another position in the native call.
        int from = 131;
        float[] some = new float[8 * rows];
        w.matmul(Arrays.copyOfRange(x, from * cols, (from + 8) * cols), 8, some);
        assertThat(some).containsExactly(Arrays.copyOfRange(all, from * rows, (from + 8) * rows));
    }

    @Test
    void everyBoundIsCheckedBeforeTheNativeLoopRuns() {
        NativeKernels.Product p = product(DType.Q8_0);
        Tensor t = RandomWeights.tensor("w", DType.Q8_0, 8, 64, new Random(3), ARENA);
        long rowBytes = DType.Q8_0.bytesFor(64);
        Int8Prefill.Quantized xq = Int8Prefill.quantize(RandomWeights.floats(4 * 64, new Random(4)), 64, 0, 4);
        float[] out = new float[4 * 8];
        assertThatThrownBy(() -> p.int8GemmRows(t.data(), rowBytes, 64, 8, 0, 9, xq, 0, out)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.int8GemmRows(t.data(), rowBytes, 64, 8, -1, 8, xq, 0, out)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.int8GemmRows(t.data(), rowBytes, 64, 8, 0, 8, xq, 1, out))
                .as("out shorter than the tokens' rows").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.int8GemmRows(t.data(), rowBytes, 96, 8, 0, 8, xq, 0, out))
                .as("inputs of another width").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.int8GemmRows(t.data().asSlice(0, rowBytes * 8 - 1), rowBytes, 64, 8, 0, 8, xq, 0, out))
                .isInstanceOf(IndexOutOfBoundsException.class);
        var short_ = new Int8Prefill.Quantized(new byte[64], xq.scale(), xq.sum(), 4, 64);
        assertThatThrownBy(() -> p.int8GemmRows(t.data(), rowBytes, 64, 8, 0, 8, short_, 0, out))
                .as("quantized values shorter than the tokens").isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(out).containsOnly(0f);
    }

    @Test
    void quantizationKeepsEachValueWithinHalfAStepAndRecordsTheSums() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int cols = 32 * 5, n = 7;
        float[] x = RandomWeights.floats(n * cols, rnd);
        Arrays.fill(x, 2 * cols, 2 * cols + 32, 0f);   // a block of zeros: scale 0, values 0
        Int8Prefill.Quantized q = Int8Prefill.quantize(x, cols, 0, n);
        for (int t = 0; t < n; t++) {
            for (int b = 0; b < 5; b++) {
                float d = q.scale()[t * 5 + b];
                int sum = 0;
                for (int k = 0; k < 32; k++) {
                    int i = t * cols + b * 32 + k;
                    assertThat((double) q.q()[i] * d).as("seed %d value %d", seed, i)
                            .isCloseTo(x[i], org.assertj.core.data.Offset.offset(d / 2 * (1 + 1e-5) + 1e-30));
                    assertThat((int) q.q()[i]).isBetween(-127, 127);
                    sum += q.q()[i];
                }
                assertThat(q.sum()[t * 5 + b]).isEqualTo(sum);
            }
        }
        assertThat(q.scale()[2 * 5]).isZero();
    }
}
