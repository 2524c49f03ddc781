package dev.cm3leon.decode;

import dev.cm3leon.checkpoint.VocabularyMap;

/**
 * Sets image-token logits to {@code -Float.MAX_VALUE} (not −∞, as HF Chameleon does in every forward), so text
 * decoding never picks an image token and softmax stays finite.
 */
public final class ImageTokenSuppression {
    public static final float SUPPRESSED = -Float.MAX_VALUE;

    private final int[] imageTokenIds;

    public ImageTokenSuppression(VocabularyMap vocabulary) {
        this.imageTokenIds = vocabulary.imageTokenIds();
    }

    /** Applies to {@code rows} consecutive rows of width {@code vocab}. */
    public void apply(float[] logits, int rows, int vocab) {
        for (int r = 0; r < rows; r++) {
            int off = r * vocab;
            for (int id : imageTokenIds) logits[off + id] = SUPPRESSED;
        }
    }
}
