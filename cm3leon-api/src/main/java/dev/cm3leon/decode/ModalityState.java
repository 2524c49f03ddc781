package dev.cm3leon.decode;

import dev.cm3leon.checkpoint.VocabularyMap;

import java.util.Arrays;

/**
 * The modality state machine. In text, image tokens are not allowed; after begin-of-image exactly the grid's number of
 * image tokens follow, then end-of-image is forced; text may resume after it. What the output may contain is set by
 * the {@link Output} mode.
 */
public final class ModalityState {
    /** What a request may produce. */
    public enum Output {
        /** Text only: neither image tokens nor begin-of-image. */
        TEXT,
        /** One image: the prompt ends in begin-of-image; generation stops after end-of-image. */
        IMAGE,
        /** Text and images interleaved. */
        INTERLEAVED
    }

    private final VocabularyMap vocabulary;
    private final boolean[] imageToken;
    private final int[] imageIds;        // ascending
    private final int tokensPerImage;
    private final Output output;
    private boolean inImage;
    private int imageTokensDone;
    private boolean finished;

    public ModalityState(VocabularyMap vocabulary, int vocabSize, int tokensPerImage, Output output, boolean startsInImage) {
        this.vocabulary = vocabulary;
        this.imageToken = new boolean[vocabSize];
        this.imageIds = vocabulary.imageTokenIds();
        for (int id : imageIds) imageToken[id] = true;
        this.tokensPerImage = tokensPerImage;
        this.output = output;
        this.inImage = startsInImage;
        if (output == Output.IMAGE && !startsInImage) {
            throw new IllegalArgumentException("an image request's prompt must end with begin-of-image");
        }
    }

    public boolean inImage() {
        return inImage;
    }

    public int imageTokensDone() {
        return imageTokensDone;
    }

    public int tokensPerImage() {
        return tokensPerImage;
    }

    public Output output() {
        return output;
    }

    public boolean isImageToken(int id) {
        return id >= 0 && id < imageToken.length && imageToken[id];
    }

    /** The only token allowed now, or -1 when there is a choice. */
    public int forcedToken() {
        return inImage && imageTokensDone == tokensPerImage ? vocabulary.endOfImage() : -1;
    }

    /**
     * Sets every logit this state forbids to −∞; returns the ids still allowed, ascending, when they are a bound
     * (the forced token, or the image tokens inside an image), else null. Do not modify the returned array.
     */
    public int[] mask(float[] logits) {
        int forced = forcedToken();
        if (forced >= 0) {
            float keep = logits[forced];
            Arrays.fill(logits, Float.NEGATIVE_INFINITY);
            logits[forced] = Float.isFinite(keep) ? keep : 0f;
            return new int[]{forced};
        }
        if (inImage) {
            // The gaps between image ids (one range before and one after, for Chameleon's contiguous ids).
            int from = 0;
            for (int id : imageIds) {
                if (id > from) Arrays.fill(logits, from, id, Float.NEGATIVE_INFINITY);
                from = id + 1;
            }
            Arrays.fill(logits, from, logits.length, Float.NEGATIVE_INFINITY);
            return imageIds;
        } else {
            for (int i = 0; i < logits.length; i++) if (imageToken[i]) logits[i] = Float.NEGATIVE_INFINITY;
            int eoi = vocabulary.endOfImage();
            if (eoi >= 0) logits[eoi] = Float.NEGATIVE_INFINITY;
            int boi = vocabulary.beginOfImage();
            if (output == Output.TEXT && boi >= 0) logits[boi] = Float.NEGATIVE_INFINITY;
            return null;
        }
    }

    /** Advances on the chosen token. */
    public void accept(int token) {
        if (inImage) {
            if (imageTokensDone < tokensPerImage) {
                imageTokensDone++;
            } else {
                inImage = false;
                imageTokensDone = 0;
                if (output == Output.IMAGE) finished = true;
            }
        } else if (token == vocabulary.beginOfImage()) {
            inImage = true;
            imageTokensDone = 0;
        }
    }

    /** True once an image request has emitted its end-of-image. */
    public boolean finished() {
        return finished;
    }
}
