package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every storage type's products against a scalar reference computed in double from the same stored values, on fresh
 * seeded inputs: odd widths and tails, one to four inputs (the streaming path) and many (the blocked path). Each
 * product runs on the Java kernels and, where {@link NativeKernels} are loaded, on the native ones as well.
 */
class MatrixWeightsTest {
    private static final Arena ARENA = Arena.ofShared();
    private static final int[] INPUT_ROWS = {1, 2, 3, 4, 5, 7, 8, 9, 13, 40};

    @AfterAll
    static void close() {
        ARENA.close();
    }

    /** The Java kernels of {@code w}, and {@code w} itself where it runs the native ones. */
    static List<MatrixWeights> bothKernels(MatrixWeights w) {
        return w.runsNative() ? List.of(w.javaKernels(), w) : List.of(w);
    }

    static Stream<Arguments> shapes() {
        List<Arguments> out = new ArrayList<>();
        int[][] floatShapes = {{1, 1}, {5, 7}, {17, 33}, {9, 257}, {13, 600}, {6, 1030}};
        int[][] blockShapes = {{1, 32}, {3, 64}, {7, 96}, {4, 128}, {13, 544}, {19, 1056}, {9, 2048}};
        for (DType t : List.of(DType.F32, DType.BF16, DType.F16)) for (int[] s : floatShapes) out.add(Arguments.of(t, s[0], s[1]));
        for (DType t : List.of(DType.Q8_0, DType.Q4_0)) for (int[] s : blockShapes) out.add(Arguments.of(t, s[0], s[1]));
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}×{2}")
    @MethodSource("shapes")
    void productsMatchTheScalarReference(DType type, int rows, int cols) {
        Random rnd = new Random(31L * rows + cols + type.ordinal());
        Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
        for (MatrixWeights w : bothKernels(MatrixWeights.of(t))) {
            assertThat(w.dtype()).isEqualTo(type);
            for (int n : INPUT_ROWS) {
                float[] x = RandomWeights.floats(n * cols, rnd);
                float[] out = new float[n * rows];
                // Prompts may multiply as int8 or split bf16 pairs (Int8PrefillTest, Bf16PairsTest bound those); here the f32 tiles.
                if (n >= MatrixWeights.BLOCKED_MIN_ROWS) BlockedMatmul.multiplyTiles(w, x, n, out);
                else w.matmul(x, n, out);
                assertProduct(t, x, n, out);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}×{2}")
    @MethodSource("shapes")
    void rowsWidenToTheStoredValues(DType type, int rows, int cols) {
        Random rnd = new Random(7L * rows + cols);
        Tensor t = RandomWeights.tensor("w", type, rows, cols, rnd, ARENA);
        MatrixWeights w = MatrixWeights.of(t);
        float[] row = new float[cols + 3];
        for (int r = 0; r < rows; r++) {
            w.copyRow(r, row, 3);
            for (int k = 0; k < cols; k++) assertThat(row[3 + k]).isEqualTo(t.getFloat((long) r * cols + k));
        }
    }

    @Test
    void severalMatricesInOneRegionMatchEachAlone() {
        Random rnd = new Random(5);
        int cols = 200;
        Tensor a = RandomWeights.tensor("a", DType.BF16, 37, cols, rnd, ARENA), b = RandomWeights.tensor("b", DType.F32, 3, cols, rnd, ARENA);
        for (int n : new int[]{1, 3, 9}) {
            float[] x = RandomWeights.floats(n * cols, rnd);
            float[] outA = new float[n * 37], outB = new float[n * 3];
            for (MatrixWeights wa : bothKernels(MatrixWeights.of(a))) {
                MatrixWeights.matmul(x, n, new MatrixWeights[]{wa, MatrixWeights.of(b)}, new float[][]{outA, outB});
                assertProduct(a, x, n, outA);
                assertProduct(b, x, n, outB);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("quantizedTypes")
    void quantizingAtLoadStoresWhatTheQuantizerWrites(DType type) {
        Random rnd = new Random(11);
        Tensor f = RandomWeights.tensor("w", DType.F32, 9, 96, new Random(12), ARENA);
        Tensor expected = RandomWeights.tensor("w", type, 9, 96, new Random(12), ARENA);
        MatrixWeights q = MatrixWeights.of(f).quantize(type, ARENA);
        assertThat(q.dtype()).isEqualTo(type);
        assertThat(q.data().mismatch(expected.data())).isEqualTo(-1L);
        float[] x = RandomWeights.floats(96, rnd), out = new float[9];
        for (MatrixWeights w : bothKernels(q)) {
            w.matmul(x, 1, out);
            assertProduct(expected, x, 1, out);
        }
    }

    /**
     * Q4_0 block scales of every f16 kind (zero, subnormal, normal, the largest, signed) give what the stored values
     * give, and infinite or NaN ones a non-finite product: the decode kernels widen scales themselves on some cores.
     */
    @Test
    void q4ScalesOfEveryKindGiveTheStoredProduct() {
        short[] scales = {0x0000, (short) 0x8000, 0x0001, (short) 0x83FF, 0x0400, 0x3C00, (short) 0xB555, 0x7BFF,
                          (short) 0xFBFF, 0x2E66, 0x7C00, (short) 0xFC00, 0x7E00};
        int rows = scales.length, cols = 256, blockBytes = 18;
        Random rnd = new Random();
        long seed = rnd.nextLong();
        rnd.setSeed(seed);
        MemorySegment seg = ARENA.allocate((long) rows * cols / 32 * blockBytes);
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < cols / 32; b++) {
                long p = ((long) r * cols / 32 + b) * blockBytes;
                // The row's scale on one block of each pair, a random finite one on the other.
                short d = b % 2 == r % 2 ? scales[r] : Float.floatToFloat16((rnd.nextFloat() - 0.5f) * 0.02f);
                seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), p, d);
                for (int i = 0; i < 16; i++) seg.set(ValueLayout.JAVA_BYTE, p + 2 + i, (byte) rnd.nextInt());
            }
        }
        Tensor t = new Tensor("w", DType.Q4_0, new long[]{rows, cols}, seg);
        for (MatrixWeights w : bothKernels(MatrixWeights.of(t))) for (int n : new int[]{1, 2, 3, 4}) {
            float[] x = RandomWeights.floats(n * cols, rnd);
            float[] out = new float[n * rows];
            w.matmul(x, n, out);
            for (int i = 0; i < n; i++) {
                for (int r = 0; r < rows; r++) {
                    double[] ref = reference(t, x, i, r);
                    double s = ref[0], mag = ref[1];
                    String what = String.format("seed %d, scale 0x%04x, n=%d, input %d", seed, scales[r] & 0xFFFF, n, i);
                    if (Double.isNaN(s) || Double.isInfinite(s)) {
                        // The kernels sum q·x before scaling, so an infinite scale may give ±∞ where the stored
                        // values (some ∞ · 0) give NaN: either way no finite, wrong answer.
                        assertThat(Float.isFinite(out[i * rows + r])).as(what).isFalse();
                    } else {
                        assertThat((double) out[i * rows + r]).as(what).isCloseTo(s, org.assertj.core.data.Offset.offset(2e-6 * mag + 1e-6));
                    }
                }
            }
        }
    }

    static Stream<DType> quantizedTypes() {
        return Stream.of(DType.Q8_0, DType.Q4_0);
    }

    /** |out − Σ w·x| within f32 rounding of the sum of magnitudes. */
    static void assertProduct(Tensor w, float[] x, int n, float[] out) {
        int rows = (int) w.dim(0), cols = (int) w.dim(1);
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) {
                double[] ref = reference(w, x, t, r);
                assertThat((double) out[t * rows + r]).as("%s n=%d t=%d r=%d", w.dtype(), n, t, r)
                        .isCloseTo(ref[0], org.assertj.core.data.Offset.offset(2e-6 * ref[1] + 1e-6));
            }
        }
    }

    /** {Σ_k w[r, k] · x[t, k], Σ_k |w[r, k] · x[t, k]|} in double, from the stored values. */
    static double[] reference(Tensor w, float[] x, int t, int r) {
        int cols = (int) w.dim(1);
        double s = 0, mag = 0;
        for (int k = 0; k < cols; k++) {
            double p = (double) w.getFloat((long) r * cols + k) * x[t * cols + k];
            s += p;
            mag += Math.abs(p);
        }
        return new double[]{s, mag};
    }
}
