package dev.cm3leon.decode;

/**
 * Contrastive decoding top-k (CD-K). With p_c the conditional distribution (the working logits, already masked to
 * the modality), p_a the amateur one (an unconditional stream, masked the same way) and p_c^(k) the k-th largest
 * value of p_c: the allowed set is {t : p_c(t) ≥ α·p_c^(k)}; the score is log p_c(t) − log p_a(t) on it and −∞
 * elsewhere. With k = 1 this is the original contrastive decoding's plausibility constraint.
 */
public final class ContrastiveTopK implements SamplerStage {
    private final int k;
    private final double alpha;
    private final int amateurStream;

    public ContrastiveTopK(int k, double alpha, int amateurStream) {
        if (k < 1) throw new IllegalArgumentException("CD-K k must be ≥ 1, got " + k);
        if (!(alpha > 0 && alpha <= 1)) throw new IllegalArgumentException("CD-K alpha must be in (0, 1], got " + alpha);
        this.k = k;
        this.alpha = alpha;
        this.amateurStream = amateurStream;
    }

    @Override
    public void apply(StepContext ctx) {
        float[] logits = ctx.logits();
        int v = logits.length;
        double[] logPc = LogitMath.logSoftmax(logits);
        float[] amateur = ctx.stream(amateurStream).clone();
        ctx.modality().mask(amateur);
        double[] logPa = LogitMath.logSoftmax(amateur);
        double kth = LogitMath.kthLargest(logPc, k);
        double threshold = kth + Math.log(alpha);                  // p_c ≥ α·p_c^(k), in log space
        for (int t = 0; t < v; t++) {
            logits[t] = logPc[t] >= threshold && logPc[t] > Double.NEGATIVE_INFINITY
                    ? (float) (logPc[t] - logPa[t]) : Float.NEGATIVE_INFINITY;
        }
    }

    @Override
    public String name() {
        return "cd-k(k=" + k + ", alpha=" + alpha + ")";
    }
}
