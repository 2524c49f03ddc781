package dev.cm3leon.decode;

import java.util.Arrays;

/** Softmax-family helpers in double precision, safe with −∞ entries. */
final class LogitMath {
    private LogitMath() {
    }

    static double max(float[] x) {
        double m = Double.NEGATIVE_INFINITY;
        for (float f : x) if (f > m) m = f;
        return m;
    }

    static double[] logSoftmax(float[] x) {
        double m = max(x);
        double[] out = new double[x.length];
        if (m == Double.NEGATIVE_INFINITY) {
            Arrays.fill(out, Double.NEGATIVE_INFINITY);
            return out;
        }
        double sum = 0;
        for (float f : x) sum += Math.exp(f - m);
        double logZ = m + Math.log(sum);
        for (int i = 0; i < x.length; i++) out[i] = x[i] - logZ;
        return out;
    }

    static double[] softmax(float[] x) {
        double[] p = logSoftmax(x);
        for (int i = 0; i < p.length; i++) p[i] = Math.exp(p[i]);
        return p;
    }

    /** The k-th largest value (1-based); −∞ when fewer than k values are finite. */
    static double kthLargest(double[] x, int k) {
        double[] copy = Arrays.stream(x).filter(d -> d > Double.NEGATIVE_INFINITY).toArray();
        if (copy.length < k) return Double.NEGATIVE_INFINITY;
        Arrays.sort(copy);
        return copy[copy.length - k];
    }
}
