package dev.cm3leon.cuda;

import dev.cm3leon.engine.cpu.CpuOps;
import dev.cm3leon.engine.cpu.MatrixWeights;
import dev.cm3leon.engine.cpu.RopeTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Each forward-pass kernel against its Java twin, the CPU engine's op, on fresh random inputs with every output
 * poisoned before the launch. Subclasses choose the device (the GPU, or the CPU emulator of the same sources).
 */
abstract class ForwardKernelsTest extends DeviceTestSupport {
    /** f32 results may differ from the twin by summation order only; bf16 results by one rounding (2^-8). */
    static double tolerance(ElementType t) {
        return t == ElementType.F32 ? 2e-5 : 8e-3;
    }

    @ParameterizedTest
    @EnumSource(ElementType.class)
    void embeddingGathersTheRowsOfTheTable(ElementType t) {
        int vocab = 50, d = 70, n = 9;
        float[] table = randn(vocab * d);
        int[] tokens = random.ints(n, 0, vocab).toArray();
        DeviceBuffer x = poisoned(4L * n * d);
        kernels.embedding(t, typed(t, table).pointer(), i32(tokens).pointer(), n, d, x.pointer());

        MatrixWeights twin = matrix(t, table, vocab, d);
        float[] expected = new float[n * d];
        for (int r = 0; r < n; r++) twin.copyRow(tokens[r], expected, r * d);
        assertThat(readF32(x, n * d)).as(seed()).containsExactly(expected);
    }

    @ParameterizedTest
    @EnumSource(ElementType.class)
    void rmsnormMatchesTheCpuOpOnGatheredRows(ElementType out) {
        int rows = 7, d = 300;
        float[] x = randn(rows * d), w = randn(d);
        int[] pick = {5, 0, 3};
        DeviceBuffer y = poisoned((long) out.bytes * pick.length * d);
        kernels.rmsnorm(out, f32(x).pointer(), f32(w).pointer(), i32(pick).pointer(), y.pointer(), pick.length, d, 1e-5f);

        float[] gathered = new float[pick.length * d], expected = new float[pick.length * d];
        for (int r = 0; r < pick.length; r++) System.arraycopy(x, pick[r] * d, gathered, r * d, d);
        CpuOps.rmsNorm(gathered, w, 1e-5f, pick.length, d, expected);
        assertThat(relativeError(readTyped(out, y.pointer(), pick.length * d), expected)).as(seed()).isLessThanOrEqualTo(tolerance(out));
    }

    @ParameterizedTest
    @EnumSource(ElementType.class)
    void rmsnormResidualAddsTheNormedBranch(ElementType t) {
        int n = 4, d = 129;
        float[] y = randn(n * d), w = randn(d), x = randn(n * d);
        DeviceBuffer xb = f32(x), cast = t == ElementType.BF16 ? poisoned(2L * n * d) : null;
        kernels.rmsnormResidual(t, f32(y).pointer(), f32(w).pointer(), xb.pointer(), cast == null ? 0 : cast.pointer(), n, d, 1e-5f);

        float[] normed = new float[n * d], expected = x.clone();
        CpuOps.rmsNorm(y, w, 1e-5f, n, d, normed);
        CpuOps.add(expected, normed, n * d);
        float[] actual = readF32(xb, n * d);
        assertThat(relativeError(actual, expected)).as(seed()).isLessThanOrEqualTo(2e-5);
        if (cast != null) assertThat(readTyped(t, cast.pointer(), n * d)).containsExactly(asStored(t, actual));
    }

    /** q rewritten in place, k and v appended at each row's position of its stream's cache, nothing else touched. */
    @ParameterizedTest
    @CsvSource({"F32, 16, true", "BF16, 128, true", "F32, 32, false"})
    void qkNormRopeRotatesInPlaceAndAppendsToTheCaches(ElementType t, int headDim, boolean qkNorm) {
        int heads = 4, kvHeads = 2, layers = 2, layer = 1, maxPos = 64;
        int qDim = heads * headDim, kvDim = kvHeads * headDim, stride = qDim + 2 * kvDim;
        int[] rowStream = {0, 0, 1, 1, 1}, rowPos = {7, 8, 0, 1, 40};
        int[] capacity = {20, 45};
        int n = rowStream.length;
        float[] qkv = randn(n * stride);
        float[] qw = randn(qDim), qb = randn(qDim), kw = randn(kvDim), kb = randn(kvDim);
        RopeTable rope = new RopeTable(maxPos, headDim, 10000.0);
        DeviceBuffer qkvB = f32(qkv);
        DeviceBuffer[] caches = {poisoned(2L * layers * capacity[0] * kvDim * t.bytes), poisoned(2L * layers * capacity[1] * kvDim * t.bytes)};
        long[] arenas = {caches[0].pointer(), caches[1].pointer()};
        DeviceBuffer kv = buffer(16);
        device.upload(kv.pointer(), java.lang.foreign.MemorySegment.ofArray(arenas));
        kernels.qkNormRope(t, qkvB.pointer(), heads, kvHeads, headDim,
                qkNorm ? f32(qw).pointer() : 0, qkNorm ? f32(qb).pointer() : 0, qkNorm ? f32(kw).pointer() : 0,
                qkNorm ? f32(kb).pointer() : 0, 1e-5f, f32(rope.upTo(maxPos).cos()).pointer(), f32(rope.upTo(maxPos).sin()).pointer(),
                i32(rowPos).pointer(), i32(rowStream).pointer(), kv.pointer(), i32(capacity).pointer(), layer, n);

        float[] q = new float[n * qDim], k = new float[n * kvDim];
        for (int r = 0; r < n; r++) {
            System.arraycopy(qkv, r * stride, q, r * qDim, qDim);
            System.arraycopy(qkv, r * stride + qDim, k, r * kvDim, kvDim);
        }
        if (qkNorm) {
            CpuOps.headLayerNorm(q, n, heads, headDim, qw, qb, 1e-5f);
            CpuOps.headLayerNorm(k, n, kvHeads, headDim, kw, kb, 1e-5f);
        }
        for (int r = 0; r < n; r++) {
            CpuOps.ropeRotateHalf(q, r * qDim, heads, headDim, rope.upTo(maxPos).cos(), rope.upTo(maxPos).sin(), rowPos[r] * rope.half);
            CpuOps.ropeRotateHalf(k, r * kvDim, kvHeads, headDim, rope.upTo(maxPos).cos(), rope.upTo(maxPos).sin(), rowPos[r] * rope.half);
        }
        float[] after = readF32(qkvB, n * stride);
        for (int r = 0; r < n; r++) {
            float[] qr = Arrays.copyOfRange(after, r * stride, r * stride + qDim);
            assertThat(relativeError(qr, Arrays.copyOfRange(q, r * qDim, (r + 1) * qDim))).as("q row %d, %s", r, seed()).isLessThanOrEqualTo(2e-5);
        }
        for (int s = 0; s < 2; s++) {
            float[] cache = readTyped(t, caches[s].pointer(), 2 * layers * capacity[s] * kvDim);
            for (int p = 0; p < capacity[s]; p++) {
                int row = -1;
                for (int r = 0; r < n; r++) if (rowStream[r] == s && rowPos[r] == p) row = r;
                long kAt = ((long) layer * 2 * capacity[s] + p) * kvDim, vAt = ((long) (layer * 2 + 1) * capacity[s] + p) * kvDim;
                float[] kc = Arrays.copyOfRange(cache, (int) kAt, (int) kAt + kvDim), vc = Arrays.copyOfRange(cache, (int) vAt, (int) vAt + kvDim);
                if (row < 0) {
                    assertThat(allNaN(kc)).as("stream %d position %d untouched", s, p).isTrue();
                    assertThat(allNaN(vc)).isTrue();
                    continue;
                }
                float[] v = asStored(t, Arrays.copyOfRange(qkv, row * stride + qDim + kvDim, (row + 1) * stride));
                assertThat(relativeError(kc, asStored(t, Arrays.copyOfRange(k, row * kvDim, (row + 1) * kvDim))))
                        .as("k of row %d, %s", row, seed()).isLessThanOrEqualTo(tolerance(t));
                assertThat(vc).as("v of row %d", row).containsExactly(v);
            }
            float[] layer0 = Arrays.copyOfRange(cache, 0, 2 * capacity[s] * kvDim);
            assertThat(allNaN(layer0)).as("layer 0 untouched").isTrue();
        }
    }

    private static boolean allNaN(float[] v) {
        for (float f : v) if (!Float.isNaN(f)) return false;
        return true;
    }

    /**
     * Caches [capacity·kvDim] per stream of random keys and values, uploaded as arenas with the layer at
     * {@code layer}. Keys grow with their position, so that later key tiles raise a row's running maximum and the
     * online softmax must rescale what it has accumulated.
     */
    private record Caches(float[][] keys, float[][] values, DeviceBuffer kvPointers, DeviceBuffer capacities) {
    }

    private Caches caches(ElementType t, int[] capacity, int kvDim, int layers, int layer) {
        int s = capacity.length;
        float[][] keys = new float[s][], values = new float[s][];
        long[] arenas = new long[s];
        for (int i = 0; i < s; i++) {
            float[] k = randn(capacity[i] * kvDim);
            for (int j = 0; j < k.length; j++) k[j] *= 0.5f + (j / kvDim) / 40f;
            keys[i] = asStored(t, k);
            values[i] = asStored(t, randn(capacity[i] * kvDim));
            DeviceBuffer arena = poisoned(2L * layers * capacity[i] * kvDim * t.bytes);
            long layerBytes = (long) capacity[i] * kvDim * t.bytes;
            device.upload(arena.pointer() + 2 * layer * layerBytes, segmentOf(t, keys[i]));
            device.upload(arena.pointer() + (2L * layer + 1) * layerBytes, segmentOf(t, values[i]));
            arenas[i] = arena.pointer();
        }
        DeviceBuffer kv = buffer(8L * s);
        device.upload(kv.pointer(), java.lang.foreign.MemorySegment.ofArray(arenas));
        return new Caches(keys, values, kv, i32(capacity));
    }

    private static java.lang.foreign.MemorySegment segmentOf(ElementType t, float[] v) {
        if (t == ElementType.F32) return java.lang.foreign.MemorySegment.ofArray(v);
        short[] bits = new short[v.length];
        for (int i = 0; i < v.length; i++) bits[i] = DeviceWeights.bf16(v[i]);
        return java.lang.foreign.MemorySegment.ofArray(bits);
    }

    /** qkv rows [n, qDim + 2·kvDim] holding random queries; returns the queries alone [n, qDim]. */
    private float[] queries(float[] qkv, int n, int qDim, int stride) {
        float[] q = new float[n * qDim];
        for (int r = 0; r < n; r++) System.arraycopy(qkv, r * stride, q, r * qDim, qDim);
        return q;
    }

    @ParameterizedTest
    @CsvSource({"F32, 16, 1", "F32, 64, 3", "BF16, 128, 4", "BF16, 32, 7"})
    void splitKDecodeAttentionMatchesTheCpuAttention(ElementType t, int headDim, int splits) {
        int heads = 4, kvHeads = 2, layers = 3, layer = 2;
        int qDim = heads * headDim, kvDim = kvHeads * headDim, stride = qDim + 2 * kvDim;
        int[] capacity = {50, 9, 120};
        int[] rowStream = {0, 1, 2}, rowPos = {random.nextInt(50), 0, 119};
        int n = rowStream.length;
        Caches c = caches(t, capacity, kvDim, layers, layer);
        float[] qkv = randn(n * stride);
        DeviceBuffer att = poisoned((long) t.bytes * n * qDim), partial = poisoned(4L * n * heads * splits * (headDim + 2));
        kernels.attentionDecode(t, headDim, f32(qkv).pointer(), i32(rowPos).pointer(), i32(rowStream).pointer(),
                c.kvPointers().pointer(), c.capacities().pointer(), layer, heads, kvHeads, partial.pointer(), splits, att.pointer(), n);

        float[] expected = AttentionReference.attend(queries(qkv, n, qDim, stride), c.keys(), c.values(), rowStream, rowPos, heads, kvHeads, headDim);
        assertThat(relativeError(readTyped(t, att.pointer(), n * qDim), expected)).as(seed()).isLessThanOrEqualTo(tolerance(t));
    }

    /** Prefill tiles as StepPlan writes them: {firstRow, rows, firstPos, stream}. */
    private DeviceBuffer tiles(int[] streamRows, int[] streamStart, int tileRows, int[] tileCount) {
        java.util.List<Integer> t = new java.util.ArrayList<>();
        int row = 0;
        for (int s = 0; s < streamRows.length; s++) {
            for (int j = 0; j < streamRows[s]; j += tileRows) {
                t.addAll(java.util.List.of(row + j, Math.min(tileRows, streamRows[s] - j), streamStart[s] + j, s));
            }
            row += streamRows[s];
        }
        tileCount[0] = t.size() / 4;
        return i32(t.stream().mapToInt(Integer::intValue).toArray());
    }

    private void checkPrefill(ElementType t, int headDim, boolean tensorCores) {
        int heads = 4, kvHeads = 2, layers = 2, layer = 1;
        int qDim = heads * headDim, kvDim = kvHeads * headDim, stride = qDim + 2 * kvDim;
        int[] streamRows = {150, 21}, streamStart = {0, 100}, capacity = {160, 130};
        int n = streamRows[0] + streamRows[1];
        int[] rowStream = new int[n], rowPos = new int[n];
        for (int r = 0; r < n; r++) {
            rowStream[r] = r < streamRows[0] ? 0 : 1;
            rowPos[r] = rowStream[r] == 0 ? r : streamStart[1] + r - streamRows[0];
        }
        Caches c = caches(t, capacity, kvDim, layers, layer);
        float[] qkv = randn(n * stride);
        int[] tileCount = new int[1];
        DeviceBuffer tiles = tiles(streamRows, streamStart, tensorCores ? Kernels.WMMA_TILE : Kernels.PREFILL_TILE, tileCount);
        DeviceBuffer att = poisoned((long) t.bytes * n * qDim);
        if (tensorCores) {
            kernels.attentionPrefillWmma(headDim, f32(qkv).pointer(), tiles.pointer(), tileCount[0], c.kvPointers().pointer(),
                    c.capacities().pointer(), layer, heads, kvHeads, att.pointer());
        } else {
            kernels.attentionPrefill(t, headDim, f32(qkv).pointer(), tiles.pointer(), tileCount[0], c.kvPointers().pointer(),
                    c.capacities().pointer(), layer, heads, kvHeads, att.pointer());
        }
        float[] expected = AttentionReference.attend(queries(qkv, n, qDim, stride), c.keys(), c.values(), rowStream, rowPos, heads, kvHeads, headDim);
        // Tensor cores also round q and the probabilities to bf16.
        double tol = tensorCores ? 2.5e-2 : tolerance(t);
        assertThat(relativeError(readTyped(t, att.pointer(), n * qDim), expected)).as(seed()).isLessThanOrEqualTo(tol);
    }

    @ParameterizedTest
    @CsvSource({"F32, 16", "F32, 128", "BF16, 64"})
    void flashPrefillAttentionMatchesTheCpuAttention(ElementType t, int headDim) {
        checkPrefill(t, headDim, false);
    }

    @ParameterizedTest
    @CsvSource({"64", "128"})
    void tensorCorePrefillAttentionMatchesTheCpuAttention(int headDim) {
        checkPrefill(ElementType.BF16, headDim, true);
    }

    @ParameterizedTest
    @EnumSource(ElementType.class)
    void swigluMatchesTheCpuOp(ElementType out) {
        int n = 3, ff = 172;
        float[] gu = randn(n * 2 * ff);
        DeviceBuffer h = poisoned((long) out.bytes * n * ff);
        kernels.swiglu(out, f32(gu).pointer(), n, ff, h.pointer());
        float[] gate = new float[n * ff], up = new float[n * ff];
        for (int r = 0; r < n; r++) {
            System.arraycopy(gu, r * 2 * ff, gate, r * ff, ff);
            System.arraycopy(gu, r * 2 * ff + ff, up, r * ff, ff);
        }
        CpuOps.swiglu(gate, up, n * ff);
        assertThat(relativeError(readTyped(out, h.pointer(), n * ff), gate)).as(seed()).isLessThanOrEqualTo(tolerance(out));
    }

    /** k = 172 takes the scalar path for bf16 (not a multiple of 8), k = 256 the 16-byte loads. */
    @ParameterizedTest
    @CsvSource({"F32, 256, 1, false", "F32, 172, 3, true", "BF16, 256, 8, false", "BF16, 172, 2, true", "BF16, 4096, 3, true"})
    void skinnyProductMatchesTheCpuMatmul(ElementType t, int k, int n, boolean accumulate) {
        int out = 37;
        float[] w = randn(out * k), x = asStored(t, randn(n * k)), y0 = randn(n * out);
        DeviceBuffer y = accumulate ? f32(y0) : poisoned(4L * n * out);
        kernels.gemv(t, typed(t, w).pointer(), typed(t, x).pointer(), y.pointer(), n, out, k, accumulate);
        float[] expected = new float[n * out];
        matrix(t, w, out, k).matmul(x, n, expected);
        if (accumulate) CpuOps.add(expected, y0, n * out);
        assertThat(relativeError(readF32(y, n * out), expected)).as(seed()).isLessThanOrEqualTo(1e-5);
    }

    /**
     * Every variant on fresh random shapes, each n from 1 to 8 in three rounds over both element types: odd output counts (fewer than
     * a block's rows, and block tails), k that is or is not a multiple of the vector width (and sweeps that end
     * mid-unroll), accumulation on and off, and base pointers one element off 16 bytes (the element-wise path).
     */
    @ParameterizedTest
    @EnumSource(Kernels.Gemv.class)
    void everySkinnyProductMatchesTheCpuMatmulOnRandomShapes(Kernels.Gemv variant) {
        for (int round = 0; round < 3; round++) {
            ElementType t = ElementType.values()[round % 2];
            int width = 16 / t.bytes;
            for (int n = 1; n <= Kernels.GEMV_MAX_ROWS; n++) {
                int out = 1 + 2 * random.nextInt(30);
                int k = switch (random.nextInt(4)) {
                    case 0 -> width * (1 + random.nextInt(8));                 // shorter than one sweep of 64 lanes
                    case 1 -> width * (64 + random.nextInt(200));              // sweeps, a tail within the unroll
                    case 2 -> 1 + random.nextInt(700);                         // any k: the element-wise path
                    default -> 64 * width * (1 + random.nextInt(3)) * 2;       // whole unrolled sweeps only
                };
                boolean accumulate = random.nextBoolean(), offsetW = random.nextInt(5) == 0, offsetX = random.nextInt(5) == 0;
                checkSkinnyProduct(variant, t, n, out, k, accumulate, offsetW, offsetX);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Kernels.Gemv.class)
    void everySkinnyProductTakesTheShapesOfTheEngine(Kernels.Gemv variant) {
        checkSkinnyProduct(variant, ElementType.BF16, 3, 35, 4096, true, false, false);
        checkSkinnyProduct(variant, ElementType.F32, 8, 17, 1376, false, false, false);
        checkSkinnyProduct(variant, ElementType.BF16, 8, 16, 1024, false, true, false);
    }

    /** Staged where x fits half the shared memory a block may opt into, through the caches beyond. */
    @Test
    void stagedProductFallsBackWhenXIsTooBigForSharedMemory() {
        int max = device.maxSharedMemoryPerBlock();
        assertThat(kernels.gemvStagedBytes(ElementType.BF16, 8, 4096)).isEqualTo(8 * 4096 * 2 <= max / 2 ? 65536 : 0);
        int tooLong = max / 2 / 8 / 2 + 8;
        assertThat(kernels.gemvStagedBytes(ElementType.BF16, 8, tooLong)).isZero();
        assertThat(kernels.gemvStagedBytes(ElementType.F32, 1, tooLong)).isEqualTo(4 * tooLong);
        checkSkinnyProduct(Kernels.Gemv.TILED_STAGED, ElementType.BF16, 8, 5, tooLong, true, false, false);
    }

    /** The same launch twice gives the same bits: sums meet in a fixed order. */
    @ParameterizedTest
    @EnumSource(Kernels.Gemv.class)
    void skinnyProductIsDeterministic(Kernels.Gemv variant) {
        int n = 5, out = 33, k = 2048;
        DeviceBuffer w = bf16(randn(out * k)), x = bf16(randn(n * k)), a = poisoned(4L * n * out), b = poisoned(4L * n * out);
        kernels.gemv(variant, ElementType.BF16, w.pointer(), x.pointer(), a.pointer(), n, out, k, false);
        kernels.gemv(variant, ElementType.BF16, w.pointer(), x.pointer(), b.pointer(), n, out, k, false);
        assertThat(readF32(b, n * out)).containsExactly(readF32(a, n * out));
    }

    private void checkSkinnyProduct(Kernels.Gemv variant, ElementType t, int n, int out, int k, boolean accumulate,
                                    boolean offsetW, boolean offsetX) {
        float[] w = randn(out * k), x = asStored(t, randn(n * k)), y0 = randn(n * out);
        DeviceBuffer y = accumulate ? f32(y0) : poisoned(4L * n * out);
        long wp = offsetBy(t, w, offsetW), xp = offsetBy(t, x, offsetX);
        kernels.gemv(variant, t, wp, xp, y.pointer(), n, out, k, accumulate);
        float[] expected = new float[n * out];
        matrix(t, w, out, k).matmul(x, n, expected);
        if (accumulate) CpuOps.add(expected, y0, n * out);
        assertThat(relativeError(readF32(y, n * out), expected))
                .as("%s %s n=%d out=%d k=%d accumulate=%s offsets %s/%s, %s", variant, t, n, out, k, accumulate, offsetW, offsetX, seed())
                .isLessThanOrEqualTo(1e-5);
    }

    /** v stored as t on the device, one element past a 16-byte boundary when {@code offset}. */
    private long offsetBy(ElementType t, float[] v, boolean offset) {
        if (!offset) return typed(t, v).pointer();
        float[] shifted = new float[v.length + 1];
        System.arraycopy(v, 0, shifted, 1, v.length);
        return typed(t, shifted).pointer() + t.bytes;
    }

    /** The engine's orientation: row-major y [n, out] = x [n, k] · W [out, k]ᵀ is column-major yᵀ = W·xᵀ. */
    @ParameterizedTest
    @EnumSource(ElementType.class)
    void gemmHasTheOrientationTheEngineUses(ElementType t) {
        Device.Blas blas = device.blas();
        org.junit.jupiter.api.Assumptions.assumeTrue(blas != null, "no cuBLAS");
        int n = 20, out = 33, k = 48;
        float[] w = randn(out * k), x = asStored(t, randn(n * k)), y0 = randn(n * out);
        DeviceBuffer y = f32(y0);
        blas.gemm(true, false, out, n, k, typed(t, w).pointer(), t, k, typed(t, x).pointer(), t, k, 1f, y.pointer(), ElementType.F32, out);
        float[] expected = new float[n * out];
        matrix(t, w, out, k).matmul(x, n, expected);
        CpuOps.add(expected, y0, n * out);
        assertThat(relativeError(readF32(y, n * out), expected)).as(seed()).isLessThanOrEqualTo(1e-5);

        int batch = 3;
        float[] xs = asStored(t, randn(batch * n * k));
        DeviceBuffer ys = poisoned(4L * batch * n * out);
        blas.gemmStridedBatched(true, false, out, n, k, typed(t, w).pointer(), t, k, 0, typed(t, xs).pointer(), t, k,
                (long) n * k, 0f, ys.pointer(), ElementType.F32, out, (long) n * out, batch);
        float[] all = readF32(ys, batch * n * out);
        for (int b = 0; b < batch; b++) {
            float[] e = new float[n * out];
            matrix(t, w, out, k).matmul(Arrays.copyOfRange(xs, b * n * k, (b + 1) * n * k), n, e);
            assertThat(relativeError(Arrays.copyOfRange(all, b * n * out, (b + 1) * n * out), e)).as("batch %d", b).isLessThanOrEqualTo(1e-5);
        }
    }

    @Test
    void conversionToBf16RoundsToNearestEven() {
        float[] x = randn(1000);
        x[0] = Float.intBitsToFloat(0x3f808000);  // exactly half way: rounds to even (down)
        x[1] = Float.intBitsToFloat(0x3f818000);  // half way: rounds up to even
        x[2] = Float.NaN;
        x[3] = Float.NEGATIVE_INFINITY;
        DeviceBuffer y = poisoned(2L * x.length);
        kernels.toBf16(f32(x).pointer(), y.pointer(), x.length);
        float[] actual = readTyped(ElementType.BF16, y.pointer(), x.length);
        float[] expected = asStored(ElementType.BF16, x);
        assertThat(Float.floatToRawIntBits(actual[0])).isEqualTo(0x3f800000);
        assertThat(Float.floatToRawIntBits(actual[1])).isEqualTo(0x3f820000);
        assertThat(actual[2]).isNaN();
        for (int i = 3; i < x.length; i++) assertThat(actual[i]).as("element %d", i).isEqualTo(expected[i]);
    }
}
