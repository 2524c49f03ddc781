package dev.cm3leon.cuda;

import java.util.Arrays;

/**
 * Java twins of the device-sampling kernels (guidance.cu, image_token_suppression.cu, contrastive.cu, sample.cu),
 * written from DESIGN §6 and the kernels' stated semantics, for the tests to compare with.
 */
final class SamplingReference {
    static final float SUPPRESSED = -Float.MAX_VALUE;

    private SamplingReference() {
    }

    /** Philox4x32-10 of counter (ctr0, ctr1, 0, 0) under key (k0, k1); the four output words. */
    static int[] philox(int ctr0, int ctr1, int ctr2, int ctr3, int k0, int k1) {
        int x0 = ctr0, x1 = ctr1, x2 = ctr2, x3 = ctr3;
        for (int round = 0; round < 10; round++) {
            long p0 = (0xD2511F53L) * (x0 & 0xffffffffL), p1 = (0xCD9E8D57L) * (x2 & 0xffffffffL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0, hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            int y0 = hi1 ^ x1 ^ k0, y2 = hi0 ^ x3 ^ k1;
            x0 = y0;
            x1 = lo1;
            x2 = y2;
            x3 = lo0;
            k0 += 0x9E3779B9;
            k1 += 0xBB67AE85;
        }
        return new int[]{x0, x1, x2, x3};
    }

    /** u + s·(c − u), in this order, in float. */
    static float[] guidance2(float[] c, float[] u, float s) {
        float[] out = new float[c.length];
        for (int i = 0; i < c.length; i++) out[i] = u[i] + s * (c[i] - u[i]);
        return out;
    }

    /** u + s_i·(i − u) + s_t·(f − i), in this order, in float. */
    static float[] guidance3(float[] f, float[] im, float[] u, float si, float st) {
        float[] out = new float[f.length];
        for (int i = 0; i < f.length; i++) out[i] = u[i] + si * (im[i] - u[i]) + st * (f[i] - im[i]);
        return out;
    }

    /** CD-K scores: log p_c − log p_a on {c_t ≥ c^(k) + ln α}, −∞ elsewhere; suppressed tokens are outside. */
    static float[] contrastive(float[] c, float[] a, int k, float alpha) {
        float mc = max(c), ma = max(a);
        int live = 0;
        float sc = 0f, sa = 0f;
        for (int i = 0; i < c.length; i++) {
            if (c[i] > SUPPRESSED) live++;
            sc += (float) Math.exp(c[i] - mc);
            sa += (float) Math.exp(a[i] - ma);
        }
        float lseC = mc + (float) Math.log(sc), lseA = ma + (float) Math.log(sa);
        float kth = kthLargest(c, Math.min(Math.max(k, 1), Math.max(live, 1)));
        float limit = kth + (float) Math.log(alpha);
        float[] out = new float[c.length];
        for (int i = 0; i < c.length; i++) {
            out[i] = c[i] > SUPPRESSED && c[i] >= limit ? (c[i] - lseC) - (a[i] - lseA) : Float.NEGATIVE_INFINITY;
        }
        return out;
    }

    /** The token sample.cu picks, and how far (as a fraction of the kept mass) its random target is from a boundary. */
    record Pick(int token, double margin) {
    }

    static Pick sample(float[] x, float temperature, int topK, float topP, float minP, long seed, long step) {
        int v = x.length;
        float m = max(x);
        if (temperature <= 0f || !(m > SUPPRESSED)) return new Pick(argmax(x), Double.POSITIVE_INFINITY);
        float kth = topK > 0 && topK < v ? kthLargest(x, topK) : Float.NEGATIVE_INFINITY;
        boolean topKOn = topK > 0 && topK < v;
        float[] e = new float[v];
        float z = 0f;
        for (int i = 0; i < v; i++) {
            e[i] = !topKOn || x[i] >= kth ? (float) Math.exp((x[i] - m) / temperature) : 0f;
            z += e[i];
        }
        double scale = 1099511627776.0 / z;
        long[] mass = new long[v];
        for (int i = 0; i < v; i++) mass[i] = (long) (e[i] * scale);
        float tau = 0f;
        if (topP < 1f) {
            long all = Arrays.stream(mass).sum();
            long target = Math.max(1, (long) ((double) topP * (double) all));
            Integer[] order = new Integer[v];
            for (int i = 0; i < v; i++) order[i] = i;
            Arrays.sort(order, (a, b) -> Float.compare(e[b], e[a]));
            long cum = 0;
            for (int j = 0; j < v; ) {
                float value = e[order[j]];
                while (j < v && e[order[j]] == value) cum += mass[order[j++]];  // ties at the threshold stay together
                if (cum >= target) {
                    tau = value;
                    break;
                }
            }
        }
        long total = 0;
        long[] kept = new long[v];
        for (int i = 0; i < v; i++) {
            kept[i] = e[i] == 0f || e[i] < tau || e[i] < minP ? 0 : mass[i];
            total += kept[i];
        }
        int r = philox((int) step, (int) (step >>> 32), 0, 0, (int) seed, (int) (seed >>> 32))[0];
        long target = Math.unsignedMultiplyHigh(total, (r & 0xffffffffL) << 32);
        long acc = 0;
        for (int i = 0; i < v; i++) {
            long before = acc;
            acc += kept[i];
            if (acc > target) {
                double margin = Math.min(target - before, acc - target) / (double) total;
                return new Pick(i, margin);
            }
        }
        throw new AssertionError("no token drawn");
    }

    static float max(float[] x) {
        float m = Float.NEGATIVE_INFINITY;
        for (float f : x) m = Math.max(m, f);
        return m;
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
        return best;
    }

    static float kthLargest(float[] x, int k) {
        float[] s = x.clone();
        Arrays.sort(s);
        return s[s.length - k];
    }
}
