package dev.cm3leon.vq;

import dev.cm3leon.Cm3LeonException;

/**
 * A request the image tokenizer cannot serve: codes outside the codebook, a code grid that does not fit, pixels of
 * the wrong shape, decoding with a checkpoint that has no decoder, placeholders that do not match the images.
 */
public class VqException extends Cm3LeonException {
    public VqException(String message) {
        super(message);
    }
}
