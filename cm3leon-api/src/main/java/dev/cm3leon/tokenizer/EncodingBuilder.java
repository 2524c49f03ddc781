package dev.cm3leon.tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Collects the ids of one encoding and, when asked for, their token strings and the special-tokens mask. */
final class EncodingBuilder {
    private final IntList ids;
    private final IntList specialMask;
    private final List<String> tokens;

    EncodingBuilder(int capacity, boolean keepTokens) {
        ids = new IntList(capacity);
        specialMask = keepTokens ? new IntList(capacity) : null;
        tokens = keepTokens ? new ArrayList<>(capacity) : null;
    }

    boolean keepsTokens() {
        return tokens != null;
    }

    /** A token produced from the text; {@code token} is only read when token strings are kept. */
    void add(int id, String token) {
        ids.add(id);
        if (tokens != null) {
            tokens.add(token);
            specialMask.add(0);
        }
    }

    /** A token the post-processor inserted. */
    void addSpecial(int id, String token) {
        ids.add(id);
        if (tokens != null) {
            tokens.add(token);
            specialMask.add(1);
        }
    }

    void addAll(EncodingBuilder other) {
        ids.addAll(other.ids.toArray());
        if (tokens != null) {
            tokens.addAll(other.tokens);
            specialMask.addAll(other.specialMask.toArray());
        }
    }

    int size() {
        return ids.size();
    }

    int[] ids() {
        return ids.toArray();
    }

    Encoding build() {
        return new Encoding(ids.toArray(), tokens, specialMask.toArray());
    }
}
