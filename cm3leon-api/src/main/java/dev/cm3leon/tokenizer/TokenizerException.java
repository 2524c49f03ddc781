package dev.cm3leon.tokenizer;

import dev.cm3leon.Cm3LeonException;

/**
 * A tokenizer file that cannot be used: malformed JSON, a missing or inconsistent field, or a component type this
 * library does not implement. The message names the file and the field, e.g.
 * {@code tokenizer.json: pre_tokenizer type 'Foo' is not supported}.
 */
public final class TokenizerException extends Cm3LeonException {
    public TokenizerException(String message) {
        super(message);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause);
    }
}
