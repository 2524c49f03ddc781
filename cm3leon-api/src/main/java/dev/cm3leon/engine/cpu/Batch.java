package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;

import java.util.IdentityHashMap;
import java.util.List;

/**
 * One engine step's streams stacked into rows: row r is token {@code tokens[r]} of stream {@code streamOf[r]} at
 * position {@code posOf[r]}. {@code wanted} lists the rows whose logits are returned, stream by stream.
 */
final class Batch {
    final CpuKvCache[] caches;
    final int[] tokens, streamOf, posOf;
    final int[] wanted;
    /** Logit rows returned per stream. */
    final int[] logitRows;
    /** The kernels of all rows, and of the wanted rows alone (the last layer's queries and the output head). */
    final RowKernels rowKernels, wantedKernels;

    private Batch(CpuKvCache[] caches, int[] tokens, int[] streamOf, int[] posOf, int[] wanted, int[] logitRows,
                  RowKernels rowKernels, RowKernels wantedKernels) {
        this.caches = caches;
        this.tokens = tokens;
        this.streamOf = streamOf;
        this.posOf = posOf;
        this.wanted = wanted;
        this.logitRows = logitRows;
        this.rowKernels = rowKernels;
        this.wantedKernels = wantedKernels;
    }

    int rows() {
        return tokens.length;
    }

    static Batch of(CpuEngine engine, List<StreamStep> steps) {
        return of(engine, steps, null);
    }

    /**
     * Checks every stream (its cache is this engine's, open, used once, with room) and stacks the tokens;
     * {@code groupOfStep} names each step's request (null: one request), for {@link RowKernels}.
     */
    static Batch of(CpuEngine engine, List<StreamStep> steps, int[] groupOfStep) {
        int s = steps.size();
        CpuKvCache[] caches = new CpuKvCache[s];
        int[] rowStart = new int[s + 1];
        int[] logitRows = new int[s];
        IdentityHashMap<KvCache, Boolean> seen = new IdentityHashMap<>();
        for (int i = 0; i < s; i++) {
            StreamStep st = steps.get(i);
            if (!(st.cache() instanceof CpuKvCache cc) || cc.owner != engine) {
                throw new IllegalArgumentException("stream " + i + ": the cache was not made by this engine");
            }
            if (cc.isClosed()) throw new IllegalStateException("stream " + i + ": the cache was closed");
            if (seen.put(cc, Boolean.TRUE) != null) throw new IllegalArgumentException("stream " + i + ": cache used twice in one step");
            if (cc.length() + st.tokenCount() > cc.capacity()) {
                throw new Cm3LeonException("stream " + i + ": " + cc.length() + " cached + " + st.tokenCount()
                        + " new tokens exceed the cache capacity of " + cc.capacity());
            }
            caches[i] = cc;
            rowStart[i + 1] = rowStart[i] + st.tokenCount();
            logitRows[i] = switch (st.logits()) {
                case NONE -> 0;
                case LAST -> 1;
                case ALL -> st.tokenCount();
            };
        }
        int n = rowStart[s];
        int[] tokens = new int[n], streamOf = new int[n], posOf = new int[n];
        int vocab = engine.config().vocabSize();
        for (int i = 0; i < s; i++) {
            int[] t = steps.get(i).tokens();
            for (int j = 0; j < t.length; j++) {
                int row = rowStart[i] + j;
                if (t[j] < 0 || t[j] >= vocab) {
                    throw new Cm3LeonException("stream " + i + ": token id " + t[j] + " is outside the vocabulary of " + vocab);
                }
                tokens[row] = t[j];
                streamOf[row] = i;
                posOf[row] = caches[i].length() + j;
            }
        }
        int total = 0;
        for (int c : logitRows) total += c;
        int[] wanted = new int[total];
        boolean[] blockedRow = new boolean[n], blockedWanted = new boolean[total];
        int[] groupOfRow = groupOfStep == null ? null : new int[n], groupOfWanted = groupOfStep == null ? null : new int[total];
        int w = 0;
        for (int i = 0; i < s; i++) {
            boolean prompt = steps.get(i).tokenCount() >= MatrixWeights.BLOCKED_MIN_ROWS;
            for (int j = rowStart[i]; j < rowStart[i + 1]; j++) {
                blockedRow[j] = prompt;
                if (groupOfRow != null) groupOfRow[j] = groupOfStep[i];
            }
            for (int j = rowStart[i + 1] - logitRows[i]; j < rowStart[i + 1]; j++) {
                blockedWanted[w] = prompt && logitRows[i] > 1;
                if (groupOfWanted != null) groupOfWanted[w] = groupOfStep[i];
                wanted[w++] = j;
            }
        }
        return new Batch(caches, tokens, streamOf, posOf, wanted, logitRows, RowKernels.of(blockedRow, groupOfRow),
                RowKernels.of(blockedWanted, groupOfWanted));
    }

    static int[] identity(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    /** Rows {@code rows} of x [*, d], stacked. */
    static float[] gather(float[] x, int d, int[] rows) {
        float[] out = new float[rows.length * d];
        for (int i = 0; i < rows.length; i++) System.arraycopy(x, rows[i] * d, out, i * d, d);
        return out;
    }
}
