package dev.cm3leon.tokenizer;

import java.util.Objects;

/**
 * A token of the {@code added_tokens} list: matched in the input before the model runs, and never split.
 *
 * @param singleWord only matched when not inside a word
 * @param lstrip     absorbs the whitespace before it
 * @param rstrip     absorbs the whitespace after it
 * @param normalized matched against the normalized text rather than the raw input
 * @param special    a control token: dropped when decoding with {@code skipSpecialTokens}
 */
public record AddedToken(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
                         boolean normalized, boolean special) {
    public AddedToken {
        Objects.requireNonNull(content, "content");
    }
}
