package dev.cm3leon.engine.cpu;

import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The activations of one forward pass, kept for the next one: a prompt's buffers are tens of megabytes, and
 * allocated afresh each step they would outlive the young generation and pile up as garbage in the old one.
 */
final class Workspace {
    final int rows;
    final float[] x, xn, q, k, v, att, proj, gate, up;

    private Workspace(int rows, int d, int qDim, int kvDim, int ff) {
        this.rows = rows;
        x = new float[rows * d];          // residual stream [n, d]
        xn = new float[rows * d];         // normed input [n, d]
        q = new float[rows * qDim];       // [n, heads·headDim]
        k = new float[rows * kvDim];      // [n, kvHeads·headDim]
        v = new float[rows * kvDim];
        att = new float[rows * qDim];     // attention output [n, heads·headDim]
        proj = new float[rows * d];       // o_proj / down_proj output [n, d]
        gate = new float[rows * ff];      // [n, ff]
        up = new float[rows * ff];
    }

    /** Spare workspaces, at most one per concurrent forward pass that has run. */
    static final class Pool {
        private final ConcurrentLinkedQueue<Workspace> spare = new ConcurrentLinkedQueue<>();
        private final int d, qDim, kvDim, ff;

        Pool(int d, int qDim, int kvDim, int ff) {
            this.d = d;
            this.qDim = qDim;
            this.kvDim = kvDim;
            this.ff = ff;
        }

        /** A workspace of at least {@code rows} rows (contents undefined). */
        Workspace take(int rows) {
            Workspace w = spare.poll();
            return w != null && w.rows >= rows ? w : new Workspace(Math.max(rows, w == null ? 1 : w.rows), d, qDim, kvDim, ff);
        }

        void give(Workspace w) {
            spare.offer(w);
        }
    }
}
