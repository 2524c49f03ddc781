package dev.cm3leon.decode;

/**
 * One stage of the sampler chain. Stages transform {@link StepContext#logits()} in place (a view over the whole
 * vocabulary); the chain's last stage picks the token. Users may insert their own stages.
 */
@FunctionalInterface
public interface SamplerStage {
    void apply(StepContext ctx);

    /** Called with the token chosen at each step (penalties keep history here). */
    default void accept(int token) {
    }

    /** A short name for logs and error messages. */
    default String name() {
        return getClass().getSimpleName();
    }
}
