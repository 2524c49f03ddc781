package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.BlockQuantizer;
import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A weight matrix [rows, cols] in its stored dtype, read straight from its segment (a mapped checkpoint, or memory
 * the engine quantized into). Products accumulate in f32.
 *
 * <p>Every final subclass widens a run of one row to f32 ({@link #widen}); the shared loops need nothing else, so
 * every product works for every storage type. The types that matter for speed override {@link #dots} with a fused
 * loop that widens in registers: decode reads each weight once per step and must stay bound by memory bandwidth.
 * Those hot loops live in the final classes on purpose: a shared loop calling an abstract load would see every
 * storage type of the process at one call site and stop being inlined.
 */
public abstract sealed class MatrixWeights permits F32Matrix, Bf16Matrix, F16Matrix, Q8Matrix, Q4Matrix {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** Products of at least this many input rows go through the blocked kernel; fewer stream each row once. */
    static final int BLOCKED_MIN_ROWS = 8;
    /** Inputs that share one pass over a weight row in {@link #dots}. */
    static final int MAX_DOTS = 4;
    /** Columns the generic {@link #dots} widens at a time. */
    static final int CHUNK = 512;

    final String name;
    final int rows, cols;
    final MemorySegment data;
    /** Bytes of one stored row (its dtype's encoding of {@code cols} values). */
    final long rowBytes;
    /** The native decode product for this storage type ({@link NativeKernels}), or null: the Java loops serve. */
    final NativeKernels.Product nativeProduct;

    MatrixWeights(String name, int rows, int cols, MemorySegment data, NativeKernels.Product nativeProduct) {
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
        this.rowBytes = dtype().bytesFor(cols);   // each subclass's dtype() is a constant
        this.nativeProduct = nativeProduct;
    }

    /** The native product for {@code type} where the kernels are loaded, else null. */
    static NativeKernels.Product nativeProductFor(DType type) {
        NativeKernels k = NativeKernels.instance();
        return k == null ? null : k.product(type);
    }

    /** Whether decode products of this matrix run the native kernels. */
    public boolean runsNative() {
        return nativeProduct != null;
    }

    /** The same weights with the Java kernels only: the reference the native products are tested against. */
    public abstract MatrixWeights javaKernels();

    /** Views a 2-D tensor (or an N-D one as [dim0, rest]) as a matrix in its stored dtype, without copying. */
    public static MatrixWeights of(Tensor t) {
        if (t.rank() < 1) throw new CheckpointException("tensor '" + t.name() + "' is a scalar, expected a matrix");
        long rows = t.dim(0);
        long cols = t.rank() == 1 ? 1 : t.elementCount() / Math.max(1, rows);
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            throw new CheckpointException("tensor '" + t.name() + "' is too large: " + rows + " × " + cols);
        }
        return switch (t.dtype()) {
            case F32 -> new F32Matrix(t.name(), (int) rows, (int) cols, t.data());
            case BF16 -> new Bf16Matrix(t.name(), (int) rows, (int) cols, t.data());
            case F16 -> new F16Matrix(t.name(), (int) rows, (int) cols, t.data());
            case Q8_0 -> new Q8Matrix(t.name(), (int) rows, (int) cols, t.data());
            case Q4_0 -> new Q4Matrix(t.name(), (int) rows, (int) cols, t.data());
            default -> throw new CheckpointException("tensor '" + t.name() + "': dtype " + t.dtype()
                    + " is not supported for weights (F32, F16, BF16, Q8_0, Q4_0)");
        };
    }

    public String name() {
        return name;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    public abstract DType dtype();

    /** Bytes of weights one full product reads. */
    public long byteSize() {
        return data.byteSize();
    }

    /** The stored bytes (quantizers read them; tests compare them). */
    public MemorySegment data() {
        return data;
    }

    /**
     * Widens {@code W[r, k0 .. k0+len)} to f32 into {@code dst[off .. off+len)}. Block types need {@code k0} and
     * {@code len} to be whole blocks, or {@code len} to reach the end of the row.
     */
    abstract void widen(int r, int k0, int len, float[] dst, int off);

    /** Whether {@link #quantize} can store this matrix as {@code type}: rows must be whole blocks. */
    public boolean canQuantize(DType type) {
        return type.isQuantized() && cols % type.blockSize() == 0;
    }

    /**
     * A copy quantized to {@code type} (Q8_0 or Q4_0) in memory of {@code arena}, rows in parallel. The source is
     * read once; its pages can be dropped afterwards.
     */
    public MatrixWeights quantize(DType type, Arena arena) {
        if (!canQuantize(type)) throw new IllegalArgumentException("'" + name + "' cannot be stored as " + type);
        long rowBytes = type.bytesFor(cols);
        MemorySegment q = arena.allocate(rowBytes * rows, 64);
        Parallel.forRange(rows, Math.max(1, (1 << 16) / cols), (r0, r1) -> {
            float[] row = new float[cols];
            for (int r = r0; r < r1; r++) {
                widen(r, 0, cols, row, 0);
                BlockQuantizer.quantize(type, row, 0, cols, q, r * rowBytes);
            }
        });
        return type == DType.Q8_0 ? new Q8Matrix(name, rows, cols, q) : new Q4Matrix(name, rows, cols, q);
    }

    /** Copies row {@code r} into {@code dst[off, off + cols)} (embedding gather). */
    public void copyRow(int r, float[] dst, int off) {
        if (r < 0 || r >= rows) throw new IndexOutOfBoundsException("row " + r + " of '" + name + "' with " + rows + " rows");
        widen(r, 0, cols, dst, off);
    }

    /**
     * {@code out[t, r] = Σ_k W[r, k] · x[t, k]} for {@code n} input rows: x [n, cols] → out [n, rows]. A few inputs
     * (decode: one per stream) share one pass over each weight row, so extra streams cost little while the product is
     * memory-bound; many inputs (prefill) go through {@link BlockedMatmul}, which is compute-bound.
     */
    public void matmul(float[] x, int n, float[] out) {
        if (n >= BLOCKED_MIN_ROWS) blockedProduct(x, n, out);
        else streamedProduct(x, n, out);
    }

    /** {@link #matmul} through the blocked (prefill) kernel whatever {@code n} is. */
    void blockedProduct(float[] x, int n, float[] out) {
        checkSizes(x, n, out);
        if (Int8Prefill.applies(this)) Int8Prefill.multiply(this, x, n, out);
        else BlockedMatmul.multiply(this, x, n, out);
    }

    /** {@link #matmul} through the streamed (decode) kernel whatever {@code n} is: each weight row read once for all inputs. */
    void streamedProduct(float[] x, int n, float[] out) {
        streamedProduct(x, n, out, null);
    }

    /**
     * As {@link #streamedProduct(float[], int, float[])} with the inputs cut into groups ending at {@code groupEnds}
     * (ascending, the last being {@code n}; null for one group): the Java kernels take each group's inputs
     * {@link #MAX_DOTS} at a time from its own start, so an input's sum depends only on its group, not on the inputs of
     * the other groups. The native kernels sum each input alone whatever shares the pass, and need no groups.
     */
    void streamedProduct(float[] x, int n, float[] out, int[] groupEnds) {
        checkSizes(x, n, out);
        float[] xp = inputFor(x, n);
        Parallel.forRange(rows, grain(cols, n), (r0, r1) -> productRows(r0, r1, xp, n, out, groupEnds));
    }

    /**
     * {@code outs[i] = x · ws[i]ᵀ} for matrices of the same width, in one parallel region when the product streams
     * the weights (q, k and v, or gate and up, of one decode step): fewer hand-offs between threads per step.
     */
    public static void matmul(float[] x, int n, MatrixWeights[] ws, float[][] outs) {
        if (n >= BLOCKED_MIN_ROWS) {
            for (int i = 0; i < ws.length; i++) ws[i].blockedProduct(x, n, outs[i]);
        } else {
            streamedProducts(x, n, ws, outs);
        }
    }

    /** {@link #matmul(float[], int, MatrixWeights[], float[][])} through the streamed kernel whatever {@code n} is. */
    static void streamedProducts(float[] x, int n, MatrixWeights[] ws, float[][] outs) {
        streamedProducts(x, n, ws, outs, null);
    }

    /** {@link #streamedProducts(float[], int, MatrixWeights[], float[][])} with groups as in {@link #streamedProduct(float[], int, float[], int[])}. */
    static void streamedProducts(float[] x, int n, MatrixWeights[] ws, float[][] outs, int[] groupEnds) {
        if (ws.length == 1) {
            ws[0].streamedProduct(x, n, outs[0], groupEnds);
            return;
        }
        int total = 0;
        float[][] inputs = new float[ws.length][];
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols != ws[0].cols) throw new IllegalArgumentException("'" + ws[i].name + "' differs in width");
            ws[i].checkSizes(x, n, outs[i]);
            total += ws[i].rows;
            // Matrices of one storage type and kernel share their input layout.
            inputs[i] = i > 0 && ws[i].getClass() == ws[i - 1].getClass() && ws[i].runsNative() == ws[i - 1].runsNative()
                    ? inputs[i - 1] : ws[i].inputFor(x, n);
        }
        Parallel.forRange(total, grain(ws[0].cols, n), (from, to) -> {
            int start = 0;
            for (int i = 0; i < ws.length && start < to; start += ws[i].rows, i++) {
                int a = Math.max(from, start) - start, b = Math.min(to, start + ws[i].rows) - start;
                if (a < b) ws[i].productRows(a, b, inputs[i], n, outs[i], groupEnds);
            }
        });
    }

    /** Rows per parallel task: at least ~64 KiB of f32 work, so a task outweighs its hand-off. */
    private static int grain(int cols, int n) {
        return Math.max(1, (1 << 16) / Math.max(1, cols * Math.min(n, MAX_DOTS)));
    }

    private void checkSizes(float[] x, int n, float[] out) {
        if ((long) n * cols > x.length || (long) n * rows > out.length) {
            throw new IllegalArgumentException("'" + name + "': x or out too small for " + n + " rows");
        }
    }

    /** The inputs as the product reads them: as they are for the native kernels, else {@link #prepareInput}. */
    private float[] inputFor(float[] x, int n) {
        return nativeProduct != null ? x : prepareInput(x, n);
    }

    /** Rows {@code [r0, r1)} of a decode product, natively where the kernels are loaded. */
    private void productRows(int r0, int r1, float[] x, int n, float[] out, int[] groupEnds) {
        if (nativeProduct != null) nativeProduct.rows(data, rowBytes, cols, rows, r0, r1, x, n, out);
        else if (groupEnds == null || groupEnds.length == 1) rowRange(r0, r1, x, n, out);
        else groupedRowRange(r0, r1, x, out, groupEnds);
    }

    /** {@link #rowRange} with each group's inputs taken {@link #MAX_DOTS} at a time from the group's start. */
    private void groupedRowRange(int r0, int r1, float[] x, float[] out, int[] groupEnds) {
        float[] scratch = new float[Math.min(cols, CHUNK)];
        for (int r = r0; r < r1; r++) {
            int g0 = 0;
            for (int g1 : groupEnds) {
                for (int t = g0; t < g1; t += MAX_DOTS) dots(r, x, t, Math.min(MAX_DOTS, g1 - t), out, scratch);
                g0 = g1;
            }
        }
    }

    /**
     * The inputs x [n, cols] in the layout this type's {@link #dots} reads (a permuted copy, or x itself), prepared
     * once per product rather than per row.
     */
    float[] prepareInput(float[] x, int n) {
        return x;
    }

    /** Single-threaded product for rows {@code [r0, r1)} of inputs laid out by {@link #prepareInput}. */
    void rowRange(int r0, int r1, float[] x, int n, float[] out) {
        float[] scratch = new float[Math.min(cols, CHUNK)];
        for (int r = r0; r < r1; r++) {
            for (int t = 0; t < n; t += MAX_DOTS) dots(r, x, t, Math.min(MAX_DOTS, n - t), out, scratch);
        }
    }

    /**
     * {@code out[(t+i)·rows + r] = Σ_k W[r, k] · x[(t+i)·cols + k]} for {@code i < m ≤ MAX_DOTS}: one pass over the
     * row serves all {@code m} inputs. This generic version widens a chunk at a time into {@code scratch}.
     */
    void dots(int r, float[] x, int t, int m, float[] out, float[] scratch) {
        float[] s = new float[m];
        for (int k0 = 0; k0 < cols; k0 += scratch.length) {
            int len = Math.min(scratch.length, cols - k0);
            widen(r, k0, len, scratch, 0);
            for (int i = 0; i < m; i++) s[i] += CpuOps.dot(scratch, 0, x, (t + i) * cols + k0, len);
        }
        for (int i = 0; i < m; i++) out[(t + i) * rows + r] = s[i];
    }
}
