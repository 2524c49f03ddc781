package dev.cm3leon.decode;

/**
 * Top-k and nucleus (top-p) selection without sorting: a quickselect over the candidates' sort keys (descending logit,
 * ties by ascending id, as a full sort would order them) finds where the kept set ends in expected linear time. At
 * 65,536 logits (8192 candidates inside an image) per stream per step, a sort would cost more than the rest of the
 * sampler chain together.
 */
final class LogitSelection {
    private LogitSelection() {
    }

    /**
     * The finite logits among the candidates as sort keys: ascending key order is descending logit, ties by ascending
     * id; the id is the key's low 32 bits. Fills {@code keys} from 0 and returns how many there are.
     */
    static int finiteKeys(float[] logits, StepContext ctx, long[] keys) {
        int n = 0, count = ctx.candidateCount();
        for (int j = 0; j < count; j++) {
            int i = ctx.candidate(j);
            float l = logits[i];
            if (l > Float.NEGATIVE_INFINITY) {
                int bits = Float.floatToIntBits(l);
                int ordered = bits >= 0 ? bits : bits ^ 0x7FFFFFFF;
                keys[n++] = ((long) ~ordered << 32) | (i & 0xFFFFFFFFL);
            }
        }
        return n;
    }

    static int id(long key) {
        return (int) key;
    }

    static float logit(long key) {
        int ordered = ~(int) (key >>> 32);
        return Float.intBitsToFloat(ordered >= 0 ? ordered : ordered ^ 0x7FFFFFFF);
    }

    /** Rearranges {@code keys[0, n)} so that its {@code k} smallest come first (in no particular order). */
    static void selectSmallest(long[] keys, int n, int k) {
        int lo = 0, hi = n;
        while (hi - lo > 1 && k > lo && k < hi) {
            int p = partition(keys, lo, hi);
            if (p == k || p + 1 == k) return;
            if (p > k) hi = p;
            else lo = p + 1;
        }
    }

    /**
     * The size of the nucleus: the fewest tokens, taken in key order, whose weights reach {@code target}; rearranges
     * {@code keys[0, n)} (and {@code weights} with them) so those come first. All {@code n} when none is enough.
     *
     * @param weights unnormalised probabilities {@code exp(logit − max)}, index-aligned with {@code keys}
     */
    static int nucleus(long[] keys, double[] weights, int n, double target) {
        int lo = 0, hi = n;
        double before = 0;   // weight of keys[0, lo), all smaller than those in [lo, hi)
        while (hi - lo > 1) {
            int mid = pivotIndex(keys, lo, hi);
            swap(keys, weights, mid, hi - 1);
            long pivot = keys[hi - 1];
            int i = lo;
            double less = 0;
            for (int j = lo; j < hi - 1; j++) {
                if (keys[j] < pivot) {
                    less += weights[j];
                    swap(keys, weights, i++, j);
                }
            }
            swap(keys, weights, i, hi - 1);   // the pivot at i
            if (before + less >= target) {
                hi = i;
            } else if (before + less + weights[i] >= target) {
                return i + 1;
            } else {
                before += less + weights[i];
                lo = i + 1;
            }
        }
        return Math.min(n, lo + 1);
    }

    /** Lomuto partition of keys[lo, hi) around a median-of-three pivot; returns the pivot's final index. */
    private static int partition(long[] keys, int lo, int hi) {
        int mid = pivotIndex(keys, lo, hi);
        swap(keys, mid, hi - 1);
        long pivot = keys[hi - 1];
        int i = lo;
        for (int j = lo; j < hi - 1; j++) if (keys[j] < pivot) swap(keys, i++, j);
        swap(keys, i, hi - 1);
        return i;
    }

    private static int pivotIndex(long[] keys, int lo, int hi) {
        int a = lo, b = lo + (hi - lo) / 2, c = hi - 1;
        long ka = keys[a], kb = keys[b], kc = keys[c];
        if (ka < kb) return kb < kc ? b : ka < kc ? c : a;
        return ka < kc ? a : kb < kc ? c : b;
    }

    private static void swap(long[] keys, int i, int j) {
        long t = keys[i];
        keys[i] = keys[j];
        keys[j] = t;
    }

    private static void swap(long[] keys, double[] w, int i, int j) {
        swap(keys, i, j);
        double t = w[i];
        w[i] = w[j];
        w[j] = t;
    }
}
