package dev.cm3leon.langchain4j;

import dev.cm3leon.Request;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Decoding parameters a builder sets; each absent one keeps the checkpoint family's default. Without a seed every
 * call draws a fresh one (so repeated prompts give new images) and reports it, so that any result can be reproduced.
 */
record DecodingSettings(Double guidance, Double temperature, Double topP, Integer topK, Double repetitionPenalty,
                        Integer maxTokens, Long seed) {
    static final DecodingSettings FAMILY_DEFAULTS = new DecodingSettings(null, null, null, null, null, null, null);

    /** The seed of one call: the configured one, else a new one. */
    long seedForCall() {
        return seed != null ? seed : ThreadLocalRandom.current().nextLong();
    }

    /** Applies every parameter but guidance (infilling runs without it) and the seed. */
    <R extends Request<?, R>> R applySampling(R request, long callSeed) {
        if (temperature != null) {
            if (temperature == 0) request.greedy();
            else request.temperature(temperature);
        }
        if (topP != null) request.topP(topP);
        if (topK != null) request.topK(topK);
        if (repetitionPenalty != null) request.repetitionPenalty(repetitionPenalty);
        if (maxTokens != null) request.maxTokens(maxTokens);
        return request.seed(callSeed);
    }

    <R extends Request<?, R>> R applyTo(R request, long callSeed) {
        if (guidance != null) {
            if (guidance == 1) request.noGuidance();
            else request.guidance(guidance);
        }
        return applySampling(request, callSeed);
    }

    DecodingSettings withTemperature(Double t) {
        return new DecodingSettings(guidance, t, topP, topK, repetitionPenalty, maxTokens, seed);
    }

    DecodingSettings withTopP(Double p) {
        return new DecodingSettings(guidance, temperature, p, topK, repetitionPenalty, maxTokens, seed);
    }

    DecodingSettings withTopK(Integer k) {
        return new DecodingSettings(guidance, temperature, topP, k, repetitionPenalty, maxTokens, seed);
    }

    DecodingSettings withMaxTokens(Integer n) {
        return new DecodingSettings(guidance, temperature, topP, topK, repetitionPenalty, n, seed);
    }

    DecodingSettings withGuidance(Double g) {
        return new DecodingSettings(g, temperature, topP, topK, repetitionPenalty, maxTokens, seed);
    }

    DecodingSettings withRepetitionPenalty(Double r) {
        return new DecodingSettings(guidance, temperature, topP, topK, r, maxTokens, seed);
    }

    DecodingSettings withSeed(Long s) {
        return new DecodingSettings(guidance, temperature, topP, topK, repetitionPenalty, maxTokens, s);
    }
}
