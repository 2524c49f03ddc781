package dev.cm3leon.tokenizer;

/**
 * A piece of the input on its way to the model: either text still to be split and tokenized, or an added token
 * already recognised ({@code tokenId >= 0}), whose text is what it matched (with any whitespace it absorbed).
 *
 * @param atOrigin whether the piece starts at the start of the input; Metaspace's {@code prepend_scheme: first} reads
 *                 it, as HF reads a piece's original offset
 */
record Piece(String text, int tokenId, boolean atOrigin) {
    static final int NO_TOKEN = -1;

    static Piece text(String text, boolean atOrigin) {
        return new Piece(text, NO_TOKEN, atOrigin);
    }

    boolean isToken() {
        return tokenId != NO_TOKEN;
    }

    Piece withText(String newText) {
        return new Piece(newText, tokenId, atOrigin);
    }
}
