package dev.cm3leon.testing;

/** Reference arithmetic on logit rows, in double: the yardstick for comparing two engines' distributions. */
public final class Distributions {
    private Distributions() {
    }

    /** KL(softmax(p) ‖ softmax(q)). */
    public static double kl(float[] p, float[] q) {
        double[] lp = logSoftmax(p), lq = logSoftmax(q);
        double s = 0;
        for (int i = 0; i < p.length; i++) if (lp[i] > -700) s += Math.exp(lp[i]) * (lp[i] - lq[i]);
        return Math.max(0, s);
    }

    public static double[] logSoftmax(float[] x) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float f : x) max = Math.max(max, f);
        for (float f : x) sum += Math.exp(f - max);
        double log = Math.log(sum);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) out[i] = x[i] - max - log;
        return out;
    }
}
