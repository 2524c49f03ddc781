package dev.cm3leon.decode;

/**
 * Forbids what the modality state forbids (−∞). It runs after guidance: masking the streams first would mix −∞
 * values into NaN.
 */
public final class ModalityMask implements SamplerStage {
    @Override
    public void apply(StepContext ctx) {
        ctx.restrictTo(ctx.modality().mask(ctx.logits()));
    }
}
