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
            for (int i = 0; i < l.length; i++) l[i] *= inv;
        }
    }

    /** Keeps the k largest logits. */
    public record TopK(int k) implements SamplerStage {
        public TopK {
            if (k < 1) throw new IllegalArgumentException("top-k must be ≥ 1, got " + k);
        }

        @Override
        public void apply(StepContext ctx) {
            float[] l = ctx.logits();
            int[] order = LogitMath.finiteByDescendingLogit(l);
            for (int i = k; i < order.length; i++) l[order[i]] = Float.NEGATIVE_INFINITY;
        }
    }

    /** Keeps the smallest set of most likely tokens whose probability reaches p (nucleus). */
    public record TopP(double p) implements SamplerStage {
        public TopP {
            if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("top-p must be in (0, 1], got " + p);
        }

        @Override
        public void apply(StepContext ctx) {
            if (p >= 1.0) return;
            float[] l = ctx.logits();
            int[] order = LogitMath.finiteByDescendingLogit(l);
            if (order.length == 0) return;
            double m = l[order[0]], z = 0;
            for (int i : order) z += Math.exp(l[i] - m);
            double cumulative = 0;
            int keep = order.length;
            for (int r = 0; r < order.length; r++) {
                cumulative += Math.exp(l[order[r]] - m) / z;
                if (cumulative >= p) {
                    keep = r + 1;
                    break;
                }
            }
            for (int r = keep; r < order.length; r++) l[order[r]] = Float.NEGATIVE_INFINITY;
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
            double cut = LogitMath.max(l) + Math.log(p);
            for (int i = 0; i < l.length; i++) if (l[i] < cut) l[i] = Float.NEGATIVE_INFINITY;
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
            int best = 0;
            for (int i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
            ctx.choose(best);
        }
    }

    /** Draws from softmax(logits) with the request's seeded random source. */
    public record Draw() implements SamplerStage {
        @Override
        public void apply(StepContext ctx) {
            float[] l = ctx.logits();
            double[] p = LogitMath.softmax(l);
            double u = ctx.random().nextDouble();
            double c = 0;
            int last = -1;
            for (int i = 0; i < p.length; i++) {
                if (p[i] <= 0) continue;
                last = i;
                c += p[i];
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
