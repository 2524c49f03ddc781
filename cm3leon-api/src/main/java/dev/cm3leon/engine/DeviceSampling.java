package dev.cm3leon.engine;

import java.util.List;

/**
 * An engine that can also pick the next tokens where its logits are (the GPU), so that a decode step copies back a
 * few ids instead of the vocabulary. The generation layer uses it when the engine offers it
 * ({@code engine instanceof DeviceSampling}) and runs its Java sampler chain otherwise; both follow DESIGN §6.
 */
public interface DeviceSampling {
    /**
     * Runs {@link Engine#forward} on {@code steps} and returns one token id per draw, in the order of {@code draws}.
     * Every stream a draw reads must ask for {@link StreamStep.Logits#LAST}; no logits come back.
     */
    int[] forwardAndDraw(List<StreamStep> steps, List<TokenDraw> draws);
}
