package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * bf16 prompt products with bf16 inputs ({@code -Dcm3leon.cpu.prompt=bf16}, AVX-512 BF16) on fresh random shapes
 * (the seed is in each failure message): against their Java twin, Σ w · bf16(x), within f32 accumulation, and against
 * the exact product within the inputs' rounding (at most 2⁻⁹ of each |w · x|).
 */
class Bf16PairsTest {
    private static final Arena ARENA = Arena.ofShared();

    @AfterAll
    static void close() {
        ARENA.close();
    }

    private static NativeKernels.Product product() {
        NativeKernels kernels = NativeKernels.forIsa("avx512", "bf16");
        assumeTrue(kernels != null, "no AVX-512 kernels on this machine");
        NativeKernels.Product p = kernels.product(DType.BF16);
        assumeTrue(p.hasPairGemm(), "this CPU has no AVX-512 BF16 (or the JVM's vectors are narrower)");
        return p;
    }

    @Test
    void theProductIsTheJavaTwinsOnFreshRandomShapes() {
        NativeKernels.Product p = product();
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int draw = 0; draw < 6; draw++) {
            int rows = 1 + rnd.nextInt(40), cols = 2 * (1 + rnd.nextInt(600));   // past one K block (256) at times
            int n = BlockedMatmul.NB / 2 + rnd.nextInt(2 * BlockedMatmul.NB);     // one to three token blocks
            Tensor t = RandomWeights.tensor("w", DType.BF16, rows, cols, rnd, ARENA);
            MatrixWeights w = MatrixWeights.of(t);
            float[] x = RandomWeights.floats(n * cols, rnd), out = new float[n * rows];
            BlockedMatmul.multiplyPairs(w, p, x, n, out);
            float[] rounded = x.clone();
            for (int i = 0; i < rounded.length; i++) rounded[i] = Float.intBitsToFloat(BlockedMatmul.bf16(x[i]) << 16);
            boolean moved = false;
            for (int i = 0; i < out.length; i++) {
                String what = String.format("seed %d draw %d: %d×%d, %d tokens, output %d", seed, draw, rows, cols, n, i);
                double[] twin = MatrixWeightsTest.reference(t, rounded, i / rows, i % rows);
                double[] exact = MatrixWeightsTest.reference(t, x, i / rows, i % rows);
                assertThat((double) out[i]).as(what + " against the twin")
                        .isCloseTo(twin[0], org.assertj.core.data.Offset.offset(4e-6 * twin[1] + 1e-6));
                assertThat((double) out[i]).as(what + " against the exact product")
                        .isCloseTo(exact[0], org.assertj.core.data.Offset.offset(0x1p-9 * exact[1] + 4e-6 * exact[1] + 1e-6));
                moved |= Math.abs(out[i] - exact[0]) > 4e-6 * exact[1] + 1e-6;
            }
            assertThat(moved).as("seed %d draw %d: the inputs were rounded to bf16", seed, draw).isTrue();
        }
    }

    @Test
    void eachTokenGetsTheSameBitsWhateverTokensAreBesideIt() {
        NativeKernels.Product p = product();
        Random rnd = new Random(new Random().nextLong());
        int rows = 30, cols = 320, n = 150;
        MatrixWeights w = MatrixWeights.of(RandomWeights.tensor("w", DType.BF16, rows, cols, rnd, ARENA));
        float[] x = RandomWeights.floats(n * cols, rnd), all = new float[n * rows];
        BlockedMatmul.multiplyPairs(w, p, x, n, all);
        int from = 131;   // another block, another lane of the tile
        float[] some = new float[8 * rows];
        BlockedMatmul.multiplyPairs(w, p, Arrays.copyOfRange(x, from * cols, (from + 8) * cols), 8, some);
        assertThat(some).containsExactly(Arrays.copyOfRange(all, from * rows, (from + 8) * rows));
    }

    @Test
    void inputsAreRoundedToNearestEven() {
        assertThat(BlockedMatmul.bf16(1f)).isEqualTo(0x3F80);
        assertThat(BlockedMatmul.bf16(Float.intBitsToFloat(0x3F808000))).as("a tie to even, down").isEqualTo(0x3F80);
        assertThat(BlockedMatmul.bf16(Float.intBitsToFloat(0x3F818000))).as("a tie to even, up").isEqualTo(0x3F82);
        assertThat(BlockedMatmul.bf16(Float.intBitsToFloat(0x3F808001))).isEqualTo(0x3F81);
        assertThat(BlockedMatmul.bf16(-2.5f)).isEqualTo(0xC020);
    }

    @Test
    void theDefaultModeKeepsF32InputsForBf16Weights() {
        NativeKernels kernels = NativeKernels.forIsa("avx512", "auto");
        assumeTrue(kernels != null, "no AVX-512 kernels on this machine");
        assertThat(kernels.product(DType.BF16).hasPairGemm()).isFalse();
        assertThat(NativeKernels.forIsa("avx512", "f32").product(DType.Q4_0).hasInt8Gemm()).isFalse();
    }

    @Test
    void everyBoundIsCheckedBeforeTheNativeLoopRuns() {
        NativeKernels.Product p = product();
        Tensor t = RandomWeights.tensor("w", DType.BF16, 4, 32, new Random(3), ARENA);
        int[] packed = new int[32 * BlockedMatmul.NB / 2];
        assertThatThrownBy(() -> p.pairGemmRows(t.data(), 64, 32, 4, 0, 4, new int[BlockedMatmul.NB], 0, 1, new float[4]))
                .as("packed inputs shorter than a block").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.pairGemmRows(t.data(), 64, 32, 4, 0, 5, packed, 0, 1, new float[4]))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.pairGemmRows(t.data(), 64, 32, 4, 0, 4, packed, 0, 2, new float[4]))
                .as("out shorter than the tokens' rows").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.pairGemmRows(t.data(), 62, 31, 4, 0, 4, packed, 0, 1, new float[4]))
                .as("odd columns").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.pairGemmRows(t.data().asSlice(0, 64 * 4 - 1), 64, 32, 4, 0, 4, packed, 0, 1, new float[4]))
                .isInstanceOf(IndexOutOfBoundsException.class);
    }
}
