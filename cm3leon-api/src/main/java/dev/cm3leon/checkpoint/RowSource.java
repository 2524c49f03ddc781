package dev.cm3leon.checkpoint;

import java.util.List;

/**
 * Tensors produced row by row as f32, for writers that stream a checkpoint to disk without holding it in memory.
 * A tensor of shape [d0, …, dk] has d0·…·d(k−1) rows of dk values (a vector is one row).
 */
public interface RowSource {
    /** Tensor names, in the order they are written. */
    List<String> names();

    long[] shape(String name);

    /** Fills {@code dst[0, rowLength)} with row {@code r} of tensor {@code name}. */
    void row(String name, long r, float[] dst);

    static long rows(long[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length - 1; i++) n *= shape[i];
        return n;
    }

    static int rowLength(long[] shape) {
        return shape.length == 0 ? 1 : Math.toIntExact(shape[shape.length - 1]);
    }

    /** The tensors of a source, widened to f32. */
    static RowSource of(TensorSource source) {
        return new RowSource() {
            @Override
            public List<String> names() {
                return List.copyOf(source.tensors().keySet());
            }

            @Override
            public long[] shape(String name) {
                return source.require(name).shape();
            }

            @Override
            public void row(String name, long r, float[] dst) {
                Tensor t = source.require(name);
                int len = rowLength(t.shape());
                for (int i = 0; i < len; i++) dst[i] = t.getFloat(r * len + i);
            }
        };
    }
}
