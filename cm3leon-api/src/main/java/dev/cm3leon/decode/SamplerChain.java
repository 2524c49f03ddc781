package dev.cm3leon.decode;

import java.util.List;

/** Stages applied in order; the last one picks the token. */
public record SamplerChain(List<SamplerStage> stages) {
    public SamplerChain {
        stages = List.copyOf(stages);
        if (stages.isEmpty()) throw new IllegalArgumentException("a sampler chain needs at least a picking stage");
    }

    /** Runs every stage and returns the chosen token. */
    public int choose(StepContext ctx) {
        for (SamplerStage s : stages) s.apply(ctx);
        if (ctx.chosen() < 0) {
            throw new IllegalStateException("the sampler chain " + describe() + " chose no token: its last stage must pick one");
        }
        return ctx.chosen();
    }

    /**
     * The distribution the chain draws from at this step: every stage but the last applied, then the last one's
     * softmax ({@link Truncation.Draw}) or its one-hot choice ({@link Truncation.Greedy}). Speculative decoding
     * verifies drafts against it; a chain whose last stage is neither is refused.
     */
    public double[] distribution(StepContext ctx) {
        SamplerStage pick = stages.getLast();
        for (int i = 0; i < stages.size() - 1; i++) stages.get(i).apply(ctx);
        return switch (pick) {
            case Truncation.Draw d -> LogitMath.softmax(ctx.logits());
            case Truncation.Greedy g -> {
                g.apply(ctx);
                double[] p = new double[ctx.vocabSize()];
                p[ctx.chosen()] = 1;
                yield p;
            }
            default -> throw new IllegalStateException("the sampler chain " + describe() + " ends in " + pick.name()
                    + ", whose distribution speculative decoding cannot verify against (it needs the built-in draw)");
        };
    }

    /** Whether every stage is a built-in one that keeps no state between steps (what speculative decoding needs). */
    public boolean usesOnlyBuiltInStages() {
        return stages.stream().allMatch(s -> s.getClass().getPackageName().equals(SamplerChain.class.getPackageName()));
    }

    /** Tells every stage which token was chosen (also forced ones). */
    public void accept(int token) {
        for (SamplerStage s : stages) s.accept(token);
    }

    public String describe() {
        return stages.stream().map(SamplerStage::name).toList().toString();
    }
}
