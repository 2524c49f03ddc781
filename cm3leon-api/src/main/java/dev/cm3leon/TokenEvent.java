package dev.cm3leon;

/**
 * One generated token, as {@code stream(listener)} delivers it.
 *
 * @param sample  which of the request's samples produced it
 * @param token   the BPE id
 * @param inImage whether it is inside an image (then {@code text} is empty)
 * @param text    its text, for text tokens (may be empty for special tokens or a partial multi-byte character)
 */
public record TokenEvent(int sample, int token, boolean inImage, String text) {
}
