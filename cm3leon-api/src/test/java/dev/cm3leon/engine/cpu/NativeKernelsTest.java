package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The native decode products (cm3leon-kernels' {@code libcm3leon_cpu}) against the scalar reference and against
 * their Java twins, for every body this CPU can run (AVX2, and AVX-512 where present), on fresh random inputs: the
 * seed of each draw is in the failure message.
 */
class NativeKernelsTest {
    private static final Arena ARENA = Arena.ofShared();
    private static final List<DType> TYPES = List.of(DType.BF16, DType.Q8_0, DType.Q4_0);

    @AfterAll
    static void close() {
        ARENA.close();
    }

    /** "avx2" and "avx512" where the library is loaded and the CPU runs them. */
    static Stream<String> bodies() {
        return Stream.of("avx2", "avx512").filter(isa -> NativeKernels.forIsa(isa) != null);
    }

    static Stream<Arguments> bodiesAndTypes() {
        List<Arguments> out = new ArrayList<>();
        bodies().forEach(isa -> TYPES.forEach(t -> out.add(Arguments.of(isa, t))));
        if (out.isEmpty()) out.add(Arguments.of("none", DType.BF16));   // reported as skipped, not as passing
        return out.stream();
    }

    @Test
    void theKernelsLoadWhereverTheBuildPackagedThemAndTheCpuHasAvx2() throws IOException {
        boolean packaged = NativeKernels.class.getClassLoader()
                .getResource("dev/cm3leon/kernels/cpu/linux-x86_64/libcm3leon_cpu.so") != null;
        assumeTrue(packaged, "the build packaged no CPU kernels (no C compiler, or not Linux x86-64)");
        String flags = Files.readString(Path.of("/proc/cpuinfo"));
        assumeTrue(flags.contains(" avx2") && flags.contains(" fma") && flags.contains(" f16c"), "no AVX2/FMA/F16C");
        assertThat(NativeKernels.describe()).startsWith("native avx");
        assertThat(NativeKernels.instance()).isNotNull();
        assertThat(MatrixWeights.of(RandomWeights.tensor("w", DType.BF16, 2, 64, new Random(1), ARENA)).runsNative()).isTrue();
        assertThat(MatrixWeights.of(RandomWeights.tensor("w", DType.F32, 2, 64, new Random(1), ARENA)).runsNative()).isFalse();
        if (flags.contains(" avx512f") && flags.contains(" avx512bw") && flags.contains(" avx512vl") && flags.contains(" avx512dq")
                && System.getenv("CM3LEON_CPU_LEVEL") == null) {
            String mode = System.getProperty("cm3leon.cpu.prompt", "auto");
            boolean wide = !mode.equals("f32");
            assertThat(NativeKernels.describe()).isEqualTo("native avx512" + (wide && flags.contains(" avx512_vnni") ? " + vnni" : "")
                    + (mode.equals("bf16") && flags.contains(" avx512_bf16") ? " + bf16 inputs" : ""));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bodiesAndTypes")
    void productsMatchTheReferenceAndTheJavaTwinOnFreshRandomShapes(String isa, DType type) {
        NativeKernels kernels = NativeKernels.forIsa(isa);
        assumeTrue(kernels != null, "no native kernels on this machine");
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int draw = 0; draw < 12; draw++) {
            int rows = 1 + rnd.nextInt(70);
            int cols = type == DType.BF16 ? 1 + rnd.nextInt(700) : 32 * (1 + rnd.nextInt(40));
            int n = 1 + rnd.nextInt(draw % 2 == 0 ? 9 : 20);
            String what = String.format("seed %d draw %d: %s %d×%d, %d inputs", seed, draw, type, rows, cols, n);
            Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
            float[] x = RandomWeights.floats(n * cols, rnd);

            float[] out = new float[n * rows];
            int split = rnd.nextInt(rows + 1);   // two row ranges, as two threads would run them
            NativeKernels.Product p = kernels.product(type);
            long rowBytes = type.bytesFor(cols);
            p.rows(t.data(), rowBytes, cols, rows, 0, split, x, n, out);
            p.rows(t.data(), rowBytes, cols, rows, split, rows, x, n, out);
            MatrixWeightsTest.assertProduct(t, x, n, out);

            assertMatchesTheJavaTwin(t, x, n, out, what);
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bodiesAndTypes")
    void thePromptsBlockedProductMatchesTheReferenceOnFreshRandomShapes(String isa, DType type) {
        NativeKernels kernels = NativeKernels.forIsa(isa);
        assumeTrue(kernels != null, "no native kernels on this machine");
        NativeKernels.Product p = kernels.product(type);
        assumeTrue(p.hasGemm(), isa + "'s packed layout is not this JVM's vector width");
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int draw = 0; draw < 6; draw++) {
            int rows = 1 + rnd.nextInt(40);
            int cols = type == DType.BF16 ? 1 + rnd.nextInt(600) : 32 * (1 + rnd.nextInt(20));
            int n = BlockedMatmul.NB / 2 + rnd.nextInt(2 * BlockedMatmul.NB);   // one to three token blocks, the last partial
            Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
            float[] x = RandomWeights.floats(n * cols, rnd);
            MatrixWeights w = MatrixWeights.of(t);
            assertThat(w.runsNative()).isTrue();
            float[] out = new float[n * rows];
            BlockedMatmul.multiplyTiles(w, x, n, out);   // the f32 tiles (matmul may take Int8Prefill or the bf16 pairs)
            MatrixWeightsTest.assertProduct(t, x, n, out);
            assertMatchesTheJavaTwin(t, x, n, out, String.format("seed %d draw %d: %s %d×%d, %d tokens", seed, draw, type, rows, cols, n));
        }
        float[] packed = new float[BlockedMatmul.NB];
        Tensor t = RandomWeights.tensor("w", type, 4, 32, rnd, ARENA);
        assertThatThrownBy(() -> p.gemmRows(t.data(), type.bytesFor(32), 32, 4, 0, 4, packed, 0, 1, new float[4]))
                .as("packed inputs shorter than a block").isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.gemmRows(t.data(), type.bytesFor(32), 32, 4, 0, 5, new float[32 * BlockedMatmul.NB], 0, 1, new float[4]))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.gemmRows(t.data(), type.bytesFor(32), 32, 4, 0, 4, new float[32 * BlockedMatmul.NB], 0, 2, new float[4]))
                .as("out shorter than the tokens' rows").isInstanceOf(IndexOutOfBoundsException.class);
    }

    /** {@code out} within f32 rounding of what the Java kernels compute for the same weights and inputs. */
    private static void assertMatchesTheJavaTwin(Tensor t, float[] x, int n, float[] out, String what) {
        int rows = (int) t.dim(0);
        float[] java = new float[n * rows];
        MatrixWeights.of(t).javaKernels().matmul(x, n, java);
        for (int i = 0; i < out.length; i++) {
            double mag = MatrixWeightsTest.reference(t, x, i / rows, i % rows)[1];
            assertThat((double) out[i]).as("%s, output %d against the Java kernel", what, i)
                    .isCloseTo(java[i], org.assertj.core.data.Offset.offset(4e-6 * mag + 1e-6));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("bodiesAndTypes")
    void eachStreamGetsTheSameBitsWhateverElseIsInTheBatch(String isa, DType type) {
        NativeKernels kernels = NativeKernels.forIsa(isa);
        assumeTrue(kernels != null, "no native kernels on this machine");
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        // Up to 40 rows (blocks of 8 and a tail) and 1,300 columns (chunks of 256) for the many-stream body.
        int rows = 1 + rnd.nextInt(40), cols = 32 * (1 + rnd.nextInt(40)) + (type == DType.BF16 ? rnd.nextInt(32) : 0);
        Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
        NativeKernels.Product p = kernels.product(type);
        long rowBytes = type.bytesFor(cols);
        for (int n = 1; n <= 18; n++) {
            float[] x = RandomWeights.floats(n * cols, rnd), batch = new float[n * rows];
            int split = rnd.nextInt(rows + 1);   // two row ranges, as two threads would run them
            p.rows(t.data(), rowBytes, cols, rows, 0, split, x, n, batch);
            p.rows(t.data(), rowBytes, cols, rows, split, rows, x, n, batch);
            for (int i = 0; i < n; i++) {
                float[] alone = new float[rows];
                p.rows(t.data(), rowBytes, cols, rows, 0, rows, Arrays.copyOfRange(x, i * cols, (i + 1) * cols), 1, alone);
                assertThat(Arrays.copyOfRange(batch, i * rows, (i + 1) * rows))
                        .as("seed %d: stream %d of %d, %s %d×%d", seed, i, n, type, rows, cols).containsExactly(alone);
            }
        }
    }

    @Test
    void everyBoundIsCheckedBeforeTheNativeLoopRuns() {
        NativeKernels kernels = NativeKernels.instance();
        assumeTrue(kernels != null, "no native kernels on this machine");
        Tensor t = RandomWeights.tensor("w", DType.BF16, 8, 64, new Random(3), ARENA);
        NativeKernels.Product p = kernels.product(DType.BF16);
        float[] x = new float[2 * 64], out = new float[2 * 8];
        assertThatThrownBy(() -> p.rows(t.data(), 128, 64, 8, 0, 9, x, 2, out)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.rows(t.data(), 128, 64, 8, -1, 8, x, 2, out)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.rows(t.data(), 128, 64, 8, 0, 8, new float[127], 2, out)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.rows(t.data(), 128, 64, 8, 0, 8, x, 2, new float[15])).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.rows(t.data().asSlice(0, 128 * 8 - 1), 128, 64, 8, 0, 8, x, 2, out))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> p.rows(t.data(), 128, 64, 8, 0, 8, x, -1, out)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(out).containsOnly(0f);
        p.rows(t.data(), 128, 64, 8, 0, 8, new float[0], 0, new float[0]);   // no inputs: nothing to do
        p.rows(t.data(), 128, 64, 8, 3, 3, x, 2, out);                       // no rows: nothing to do
        assertThat(out).containsOnly(0f);
    }

    @Test
    void theReadProbeSumsWhatItReads() {
        bodies().forEach(isa -> {
            // 1,024 floats in whole 256-byte runs, then 100 bytes the probe does not read
            MemorySegment s = ARENA.allocate(4L * 1024 + 100, 64);
            s.fill((byte) 0x7F);
            double expected = 0;
            for (int i = 0; i < 1024; i++) {
                s.setAtIndex(ValueLayout.JAVA_FLOAT, i, (i % 7) - 3);
                expected += (i % 7) - 3;
            }
            assertThat(NativeKernels.forIsa(isa).readSum(s)).as(isa).isEqualTo((float) expected);
        });
    }
}
