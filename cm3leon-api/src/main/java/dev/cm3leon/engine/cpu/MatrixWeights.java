package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;

/**
 * A weight matrix [rows, cols] in its stored dtype, read straight from the (mapped) segment. Products accumulate in
 * f32. One final subclass per storage type supplies the widening load; the loops are shared.
 */
public abstract sealed class MatrixWeights permits F32Matrix, Bf16Matrix, F16Matrix {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();

    final String name;
    final int rows, cols;
    final MemorySegment data;

    MatrixWeights(String name, int rows, int cols, MemorySegment data) {
        this.name = name;
        this.rows = rows;
        this.cols = cols;
        this.data = data;
    }

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
            default -> throw new CheckpointException("tensor '" + t.name() + "': dtype " + t.dtype()
                    + " is not supported for weights (F32, F16, BF16)");
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

    /** {@code L} consecutive elements starting at element {@code index}, widened to f32. */
    abstract FloatVector load(long index);

    /** One element widened to f32 (tails and gathers). */
    abstract float get(long index);

    /** Copies row {@code r} into {@code dst[off, off + cols)} (embedding gather). */
    public void copyRow(int r, float[] dst, int off) {
        checkRow(r);
        long base = (long) r * cols;
        int k = 0;
        for (int upper = F.loopBound(cols); k < upper; k += L) load(base + k).intoArray(dst, off + k);
        for (; k < cols; k++) dst[off + k] = get(base + k);
    }

    private void checkRow(int r) {
        if (r < 0 || r >= rows) throw new IndexOutOfBoundsException("row " + r + " of '" + name + "' with " + rows + " rows");
    }

    /**
     * {@code out[t, r] = Σ_k W[r, k] · x[t, k]} for {@code n} input rows: x [n, cols] → out [n, rows]. Each weight row
     * is read once for all {@code n} inputs, so extra streams cost little when the product is memory-bound.
     */
    public void matmul(float[] x, int n, float[] out) {
        if ((long) n * cols > x.length || (long) n * rows > out.length) {
            throw new IllegalArgumentException("'" + name + "': x or out too small for " + n + " rows");
        }
        int grain = Math.max(1, (1 << 16) / Math.max(1, cols * Math.max(1, Math.min(n, 8))));
        Parallel.forRange(rows, grain, (r0, r1) -> rowRange(r0, r1, x, n, out));
    }

    /** Single-threaded product for rows {@code [r0, r1)}; callers that parallelise themselves use this. */
    void rowRange(int r0, int r1, float[] x, int n, float[] out) {
        for (int r = r0; r < r1; r++) {
            int t = 0;
            for (; t + 4 <= n; t += 4) dot4(r, x, t, out);
            for (; t < n; t++) out[t * rows + r] = dot(r, x, t * cols);
        }
    }

    /** One row against one input row, two accumulator chains to hide FMA latency. */
    float dot(int r, float[] x, int xOff) {
        long base = (long) r * cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        int k = 0;
        int upper2 = cols - (cols % (2 * L));
        for (; k < upper2; k += 2 * L) {
            a0 = load(base + k).fma(FloatVector.fromArray(F, x, xOff + k), a0);
            a1 = load(base + k + L).fma(FloatVector.fromArray(F, x, xOff + k + L), a1);
        }
        for (int upper = F.loopBound(cols); k < upper; k += L) {
            a0 = load(base + k).fma(FloatVector.fromArray(F, x, xOff + k), a0);
        }
        float s = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; k < cols; k++) s += get(base + k) * x[xOff + k];
        return s;
    }

    /** One row against four input rows t..t+3: the weight vector is loaded once for four FMAs. */
    void dot4(int r, float[] x, int t, float[] out) {
        long base = (long) r * cols;
        int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F), a2 = FloatVector.zero(F), a3 = FloatVector.zero(F);
        int k = 0;
        for (int upper = F.loopBound(cols); k < upper; k += L) {
            FloatVector w = load(base + k);
            a0 = w.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a1 = w.fma(FloatVector.fromArray(F, x, x1 + k), a1);
            a2 = w.fma(FloatVector.fromArray(F, x, x2 + k), a2);
            a3 = w.fma(FloatVector.fromArray(F, x, x3 + k), a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; k < cols; k++) {
            float w = get(base + k);
            s0 += w * x[x0 + k];
            s1 += w * x[x1 + k];
            s2 += w * x[x2 + k];
            s3 += w * x[x3 + k];
        }
        out[t * rows + r] = s0;
        out[(t + 1) * rows + r] = s1;
        out[(t + 2) * rows + r] = s2;
        out[(t + 3) * rows + r] = s3;
    }
}
