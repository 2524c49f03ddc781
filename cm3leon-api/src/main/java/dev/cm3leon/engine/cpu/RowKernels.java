package dev.cm3leon.engine.cpu;

/**
 * Which product kernel each row of a pass goes through, chosen by the row's own stream step rather than by how many
 * rows the pass holds: the blocked kernel for the tokens of a step of at least {@link MatrixWeights#BLOCKED_MIN_ROWS}
 * (a prompt or a chunk of one), the streamed kernel for the others (decode tokens, and the single rows whose logits are
 * wanted). The two kernels sum in different orders, so choosing by the pass would make a stream's numbers depend on
 * the streams beside it; choosing by the step lets requests that share passes decode exactly as they would alone.
 */
final class RowKernels {
    /** Row indices of each kind, ascending. */
    private final int[] blocked, streamed;
    /** Where each request's streamed rows end, counted among the streamed rows; null for one request. */
    private final int[] streamedGroupEnds;

    private RowKernels(int[] blocked, int[] streamed, int[] streamedGroupEnds) {
        this.blocked = blocked;
        this.streamed = streamed;
        this.streamedGroupEnds = streamedGroupEnds;
    }

    /** {@code groupOfRow} names the request of each row (null: one request); a request's rows are adjacent. */
    static RowKernels of(boolean[] blockedRow, int[] groupOfRow) {
        int nb = 0;
        for (boolean b : blockedRow) if (b) nb++;
        int[] blocked = new int[nb], streamed = new int[blockedRow.length - nb];
        int i = 0, j = 0;
        java.util.List<Integer> ends = new java.util.ArrayList<>();
        for (int r = 0; r < blockedRow.length; r++) {
            if (blockedRow[r]) {
                blocked[i++] = r;
                continue;
            }
            if (j > 0 && groupOfRow != null && groupOfRow[streamed[j - 1]] != groupOfRow[r]) ends.add(j);
            streamed[j++] = r;
        }
        int[] groupEnds = null;
        if (!ends.isEmpty()) {
            ends.add(j);
            groupEnds = ends.stream().mapToInt(Integer::intValue).toArray();
        }
        return new RowKernels(blocked, streamed, groupEnds);
    }

    int rows() {
        return blocked.length + streamed.length;
    }

    void matmul(float[] x, MatrixWeights w, float[] out) {
        matmul(x, new MatrixWeights[]{w}, new float[][]{out});
    }

    /** {@code outs[i] [rows, ws[i].rows] = x [rows, cols] · ws[i]ᵀ}, each row through its kernel. */
    void matmul(float[] x, MatrixWeights[] ws, float[][] outs) {
        int n = rows();
        if (streamed.length == 0) {
            for (int i = 0; i < ws.length; i++) ws[i].blockedProduct(x, n, outs[i]);
            return;
        }
        if (blocked.length == 0) {
            MatrixWeights.streamedProducts(x, n, ws, outs, streamedGroupEnds);
            return;
        }
        // Mixed (a prompt chunk beside decode tokens): each kind on its own rows, gathered and scattered back.
        int cols = ws[0].cols();
        float[] xb = Batch.gather(x, cols, blocked), xs = Batch.gather(x, cols, streamed);
        float[][] os = new float[ws.length][];
        for (int i = 0; i < ws.length; i++) {
            float[] ob = new float[blocked.length * ws[i].rows()];
            ws[i].blockedProduct(xb, blocked.length, ob);
            scatter(ob, ws[i].rows(), blocked, outs[i]);
            os[i] = new float[streamed.length * ws[i].rows()];
        }
        MatrixWeights.streamedProducts(xs, streamed.length, ws, os, streamedGroupEnds);
        for (int i = 0; i < ws.length; i++) scatter(os[i], ws[i].rows(), streamed, outs[i]);
    }

    private static void scatter(float[] part, int width, int[] rows, float[] out) {
        for (int i = 0; i < rows.length; i++) System.arraycopy(part, i * width, out, rows[i] * width, width);
    }
}
