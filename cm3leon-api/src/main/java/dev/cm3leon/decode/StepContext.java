package dev.cm3leon.decode;

import java.util.SplittableRandom;

/**
 * What a sampler stage sees at one step: the working logits (initially the conditional stream's raw logits), each
 * stream's raw logits (conditional first; guidance and amateur streams after), the modality state, the tokens so far
 * and the request's seeded random source.
 */
public final class StepContext {
    private final float[] logits;
    private final float[][] streams;
    private final ModalityState modality;
    private final int step;
    private final int[] history;
    private final int historyLength;
    private final SplittableRandom random;
    private int chosen = -1;
    private int[] candidates;   // ascending ids; every logit outside them is −∞ (null: no such bound)

    public StepContext(float[] logits, float[][] streams, ModalityState modality, int step, int[] history,
                       int historyLength, SplittableRandom random) {
        this.logits = logits;
        this.streams = streams;
        this.modality = modality;
        this.step = step;
        this.history = history;
        this.historyLength = historyLength;
        this.random = random;
    }

    /** Working logits [V], transformed in place by the stages. */
    public float[] logits() {
        return logits;
    }

    public int vocabSize() {
        return logits.length;
    }

    /** Raw logits of stream {@code i} [V]: 0 is the conditional stream. Stages must not modify them. */
    public float[] stream(int i) {
        return streams[i];
    }

    public int streamCount() {
        return streams.length;
    }

    public ModalityState modality() {
        return modality;
    }

    /** Index of the token being chosen, 0 for the first new token. */
    public int step() {
        return step;
    }

    /** Prompt and generated tokens of the conditional stream so far. */
    public int historyLength() {
        return historyLength;
    }

    public int history(int i) {
        return history[i];
    }

    public SplittableRandom random() {
        return random;
    }

    /**
     * The ids that may still be finite, ascending, or null for the whole vocabulary. Set by the modality mask when it
     * allows only some tokens (inside an image, the image tokens: 8192 of Chameleon's 65,536), so that the stages after
     * it select and draw over those alone. Stages after it may lower any logit to −∞ but must not raise one that is −∞.
     * Do not modify the array.
     */
    public int[] candidates() {
        return candidates;
    }

    /** Bounds the candidates to {@code ascendingIds} (see {@link #candidates()}); the caller has set the rest to −∞. */
    public void restrictTo(int[] ascendingIds) {
        candidates = ascendingIds;
    }

    /** How many ids {@link #candidate} ranges over: the candidates, or the whole vocabulary. */
    public int candidateCount() {
        return candidates == null ? logits.length : candidates.length;
    }

    /** The {@code j}-th candidate id, ascending. */
    public int candidate(int j) {
        return candidates == null ? j : candidates[j];
    }

    /** Set by the picking stage. */
    public void choose(int token) {
        if (token < 0 || token >= logits.length) throw new IllegalStateException("chose token " + token + " outside the vocabulary");
        chosen = token;
    }

    public int chosen() {
        return chosen;
    }
}
