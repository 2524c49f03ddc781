package dev.cm3leon.engine;

import java.util.Objects;

/**
 * One stream's part of an engine step: the new tokens (many at prefill, one at decode), its cache, and which logits
 * to return.
 */
public record StreamStep(KvCache cache, int[] tokens, Logits logits) {
    /** Which positions' logits a step returns. */
    public enum Logits { NONE, LAST, ALL }

    public StreamStep {
        Objects.requireNonNull(cache, "cache");
        Objects.requireNonNull(logits, "logits");
        if (tokens == null || tokens.length == 0) throw new IllegalArgumentException("a stream step needs at least one token");
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    public int tokenCount() {
        return tokens.length;
    }

    int token(int i) {
        return tokens[i];
    }

    public static StreamStep last(KvCache cache, int... tokens) {
        return new StreamStep(cache, tokens, Logits.LAST);
    }
}
