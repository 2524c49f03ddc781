package dev.cm3leon;

import java.time.Duration;

/**
 * Where a request's time went, part by part, so a service can log it.
 *
 * @param prefill       the prompt of every stream, in one batch
 * @param decode        every decode step: forward passes and sampling (the sum of the next two, plus bookkeeping)
 * @param steps         decode steps (each yields one token per live sample)
 * @param streams       streams decoded together (samples × streams per sample)
 * @param forward       the engine's forward passes of the decode steps
 * @param sampling      the sampler chains (guidance mix, modality mask, truncation, the draw) of every step
 * @param firstSteps    mean forward time of the first {@value #EDGE_STEPS} decode steps (shortest KV cache)
 * @param lastSteps     mean forward time of the last {@value #EDGE_STEPS} decode steps (longest KV cache)
 * @param imageEncode   the VQ encoder, for requests conditioned on an image; zero otherwise
 * @param imageDecode   the VQ decoder, all samples; zero for requests without image output
 * @param forwardPasses engine passes over the weights: one for the prefill and one per decode step after the first
 */
public record Timings(Duration prefill, Duration decode, int steps, int streams, Duration forward, Duration sampling,
                      Duration firstSteps, Duration lastSteps, Duration imageEncode, Duration imageDecode,
                      int forwardPasses) {
    /** How many steps {@link #firstSteps} and {@link #lastSteps} average over (single steps are noisy). */
    public static final int EDGE_STEPS = 8;

    /** Timings without the per-part split (requests that measure only prefill and decode). */
    public Timings(Duration prefill, Duration decode, int steps, int streams) {
        this(prefill, decode, steps, streams, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO,
                Duration.ZERO, steps == 0 ? 1 : steps);
    }

    /** Decode steps per second (each step yields one token per sample). */
    public double stepsPerSecond() {
        double s = decode.toNanos() / 1e9;
        return s > 0 ? steps / s : 0;
    }

    /** Mean forward pass of a decode step. */
    public Duration forwardPerStep() {
        return steps > 1 ? forward.dividedBy(steps - 1) : Duration.ZERO;
    }

    /** Mean sampler time per step (all samples' chains). */
    public Duration samplingPerStep() {
        return steps > 0 ? sampling.dividedBy(steps) : Duration.ZERO;
    }

    /** The whole request: prefill, decode, and the image tokenizer's parts. */
    public Duration total() {
        return prefill.plus(decode).plus(imageEncode).plus(imageDecode);
    }

    Timings withImageParts(Duration encode, Duration decodeImages) {
        return new Timings(prefill, decode, steps, streams, forward, sampling, firstSteps, lastSteps, encode, decodeImages,
                forwardPasses);
    }
}
