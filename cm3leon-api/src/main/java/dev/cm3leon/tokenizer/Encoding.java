package dev.cm3leon.tokenizer;

import java.util.Arrays;
import java.util.List;

/**
 * The result of encoding one text, with what HF reports beside the ids.
 *
 * @param ids               token ids
 * @param tokens            token strings in the model's alphabet ({@code Ġ}, {@code ▁}, {@code <0xXX>}); an added
 *                          token is reported as the text it matched, with any whitespace it absorbed
 * @param specialTokensMask 1 where the post-processor inserted the token, 0 where it came from the text
 */
public record Encoding(int[] ids, List<String> tokens, int[] specialTokensMask) {
    public Encoding {
        ids = ids.clone();
        tokens = List.copyOf(tokens);
        specialTokensMask = specialTokensMask.clone();
        if (tokens.size() != ids.length || specialTokensMask.length != ids.length) {
            throw new IllegalArgumentException("ids, tokens and mask differ in length");
        }
    }

    @Override
    public int[] ids() {
        return ids.clone();
    }

    @Override
    public int[] specialTokensMask() {
        return specialTokensMask.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Encoding(int[] otherIds, List<String> otherTokens, int[] otherMask)
                && Arrays.equals(ids, otherIds) && tokens.equals(otherTokens)
                && Arrays.equals(specialTokensMask, otherMask);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(ids) + tokens.hashCode()) + Arrays.hashCode(specialTokensMask);
    }

    @Override
    public String toString() {
        return "Encoding[ids=" + Arrays.toString(ids) + ", tokens=" + tokens + ", specialTokensMask="
                + Arrays.toString(specialTokensMask) + "]";
    }
}
