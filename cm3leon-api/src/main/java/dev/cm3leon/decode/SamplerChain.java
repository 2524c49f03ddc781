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

    /** Tells every stage which token was chosen (also forced ones). */
    public void accept(int token) {
        for (SamplerStage s : stages) s.accept(token);
    }

    public String describe() {
        return stages.stream().map(SamplerStage::name).toList().toString();
    }
}
