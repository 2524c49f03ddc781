package dev.cm3leon.decode;


/** The stages that reshape or truncate the distribution before the draw. */
public final class Truncation {
    private Truncation() {
    }

    /** Divides logits by the temperature (> 0). */
    public record Temperature(double temperature) implements SamplerStage {
        public Temperature {
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature must be positive and finite, got " + temperature);
            }
        }

        @Override
        public void apply(StepContext ctx) {
            if (temperature == 1.0) return;
            float[] l = ctx.logits();
            float inv = (float) (1.0 / temperature);
            for (int j = 0, n = ctx.candidateCount(); j < n; j++) l[ctx.candidate(j)] *= inv;   // −∞ elsewhere stays −∞
        }
    }

    /** Keeps the k largest logits (ties by the lower id). */
    public record TopK(int k) implements SamplerStage {
        public TopK {
            if (k < 1) throw new IllegalArgumentException("top-k must be ≥ 1, got " + k);
        }

        @Override
        public void apply(StepContext ctx) {
            float[] l = ctx.logits();
            long[] keys = new long[ctx.candidateCount()];
            int n = LogitSelection.finiteKeys(l, ctx, keys);
            if (n <= k) return;
            LogitSelection.selectSmallest(keys, n, k);
            for (int r = k; r < n; r++) l[LogitSelection.id(keys[r])] = Float.NEGATIVE_INFINITY;
        }
    }

    /**
     * Keeps the smallest set of most likely tokens whose probability reaches p (nucleus), ties by the lower id; found
     * by selection, not by sorting the candidates.
     */
    public record TopP(double p) implements SamplerStage {
        public TopP {
            if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + p);
        }

        @Override
        public void apply(StepContext ctx) {
            if (p >= 1.0) return;
            float[] l = ctx.logits();
            long[] keys = new long[ctx.candidateCount()];
            int n = LogitSelection.finiteKeys(l, ctx, keys);
            if (n == 0) return;
            double m = Double.NEGATIVE_INFINITY;
            for (int r = 0; r < n; r++) m = Math.max(m, LogitSelection.logit(keys[r]));
            double[] w = new double[n];
            double z = 0;
            for (int r = 0; r < n; r++) z += w[r] = Math.exp(LogitSelection.logit(keys[r]) - m);
            int keep = LogitSelection.nucleus(keys, w, n, p * z);
            for (int r = keep; r < n; r++) l[LogitSelection.id(keys[r])] = Float.NEGATIVE_INFINITY;
        }
    }

    /** Drops tokens whose probability is below {@code p} times the most likely one's. */
    public record MinP(double p) implements SamplerStage {
        public MinP {
            if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("min-p must be in [0, 1), got " + p);
        }

        @Override
        public void apply(StepContext ctx) {
            if (p == 0) return;
            float[] l = ctx.logits();
            int n = ctx.candidateCount();
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) m = Math.max(m, l[ctx.candidate(j)]);
            double cut = m + Math.log(p);
            for (int j = 0; j < n; j++) {
                int i = ctx.candidate(j);
                if (l[i] < cut) l[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /** Penalises tokens already present (HF's rule: divide positive logits, multiply negative ones). */
    public record RepetitionPenalty(double penalty) implements SamplerStage {
        public RepetitionPenalty {
            if (!(penalty > 0) || Double.isInfinite(penalty)) {
                throw new IllegalArgumentException("repetition penalty must be positive and finite, got " + penalty);
            }
        }

        @Override
        public void apply(StepContext ctx) {
            if (penalty == 1.0) return;
            float[] l = ctx.logits();
            boolean[] seen = new boolean[l.length];
            for (int i = 0; i < ctx.historyLength(); i++) {
                int t = ctx.history(i);
                if (t < 0 || t >= l.length || seen[t]) continue;
                seen[t] = true;
                if (l[t] > Float.NEGATIVE_INFINITY) l[t] = (float) (l[t] > 0 ? l[t] / penalty : l[t] * penalty);
            }
        }
    }

    /** Picks the largest logit (first on ties). */
    public record Greedy() implements SamplerStage {
        @Override
        public void apply(StepContext ctx) {
            float[] l = ctx.logits();
            int best = ctx.candidate(0);
            for (int j = 1, n = ctx.candidateCount(); j < n; j++) {
                int i = ctx.candidate(j);
                if (l[i] > l[best]) best = i;
            }
            ctx.choose(best);
        }
    }

    /**
     * Draws from softmax(logits) with the request's seeded random source, over the candidates only: every other
     * probability is zero, and the candidates ascend, so the draw is the one a pass over the whole vocabulary makes.
     */
    public record Draw() implements SamplerStage {
        @Override
        public void apply(StepContext ctx) {
            float[] l = ctx.logits();
            int n = ctx.candidateCount();
            double m = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) m = Math.max(m, l[ctx.candidate(j)]);
            if (m == Double.NEGATIVE_INFINITY) throw new IllegalStateException("every token was filtered out: nothing to draw");
            double sum = 0;
            for (int j = 0; j < n; j++) sum += Math.exp(l[ctx.candidate(j)] - m);
            double logZ = m + Math.log(sum);
            double u = ctx.random().nextDouble();
            double c = 0;
            int last = -1;
            for (int j = 0; j < n; j++) {
                int i = ctx.candidate(j);
                double p = Math.exp(l[i] - logZ);
                if (p <= 0) continue;
                last = i;
                c += p;
                if (u < c) {
                    ctx.choose(i);
                    return;
                }
            }
            if (last < 0) throw new IllegalStateException("every token was filtered out: nothing to draw");
            ctx.choose(last);       // rounding left u beyond the cumulative sum
        }
    }
}
