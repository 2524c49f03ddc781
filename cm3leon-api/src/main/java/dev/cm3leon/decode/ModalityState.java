package dev.cm3leon.decode;

import dev.cm3leon.checkpoint.VocabularyMap;

import java.util.Arrays;

/**
 * The modality state machine, following the checkpoint's {@link ImageLayout}. In text, image tokens are not allowed;
 * after begin-of-image come the size tokens where the layout has them (only size tokens allowed), then exactly the
 * grid's codes, with the row separator forced after each row where the layout has one, then end-of-image is forced;
 * text may resume after it. What the output may contain is set by the {@link Output} mode.
 */
public final class ModalityState {
    /** What a request may produce. */
    public enum Output {
        /** Text only: neither image tokens nor begin-of-image. */
        TEXT,
        /** One image: the prompt ends in the image's header; generation stops after end-of-image. */
        IMAGE,
        /** Text and images interleaved. */
        INTERLEAVED
    }

    private enum Phase { TEXT, SIZE, BODY }

    private final VocabularyMap vocabulary;
    private final boolean[] imageToken;
    private final int[] imageIds;        // ascending
    private final ImageLayout layout;
    private final Output output;
    private Phase phase;
    private int heightToken = -1;
    private ImageLayout.Grid grid;
    private int bodyDone;
    private boolean finished;

    /**
     * @param startsIn the grid of the image the prompt opens (its header is the prompt's end), or null when the
     *                 prompt ends in text
     */
    public ModalityState(VocabularyMap vocabulary, int vocabSize, ImageLayout layout, Output output, ImageLayout.Grid startsIn) {
        this.vocabulary = vocabulary;
        this.imageToken = new boolean[vocabSize];
        this.imageIds = vocabulary.imageTokenIds();
        for (int id : imageIds) imageToken[id] = true;
        this.layout = layout;
        this.output = output;
        this.phase = startsIn == null ? Phase.TEXT : Phase.BODY;
        this.grid = startsIn == null ? layout.defaultGrid() : startsIn;
        if (output == Output.IMAGE && startsIn == null) {
            throw new IllegalArgumentException("an image request's prompt must end with the image's header (begin-of-image)");
        }
    }

    private ModalityState(ModalityState o) {
        this.vocabulary = o.vocabulary;
        this.imageToken = o.imageToken;        // never written after construction
        this.imageIds = o.imageIds;
        this.layout = o.layout;
        this.output = o.output;
        this.phase = o.phase;
        this.heightToken = o.heightToken;
        this.grid = o.grid;
        this.bodyDone = o.bodyDone;
        this.finished = o.finished;
    }

    /** An independent copy of this state (speculative decoding advances copies along its drafts). */
    public ModalityState copy() {
        return new ModalityState(this);
    }

    /** Chameleon's layout with {@code tokensPerImage} codes in one run: an image, or a masked run being infilled. */
    public ModalityState(VocabularyMap vocabulary, int vocabSize, int tokensPerImage, Output output, boolean startsInImage) {
        this(vocabulary, vocabSize, ImageLayout.run(vocabulary.beginOfImage(), vocabulary.endOfImage(), tokensPerImage), output,
                startsInImage ? new ImageLayout.Grid(1, Math.max(1, tokensPerImage)) : null);
    }

    public boolean inImage() {
        return phase != Phase.TEXT;
    }

    /** Tokens of the current image's body emitted so far (codes and row separators). */
    public int imageTokensDone() {
        return bodyDone;
    }

    /** Tokens of the current image's body (codes and row separators). */
    public int tokensPerImage() {
        return layout.bodyLength(grid);
    }

    /** The grid of the image being generated, or of the last one. */
    public ImageLayout.Grid grid() {
        return grid;
    }

    public ImageLayout layout() {
        return layout;
    }

    public Output output() {
        return output;
    }

    public boolean isImageToken(int id) {
        return id >= 0 && id < imageToken.length && imageToken[id];
    }

    /** The only token allowed now, or -1 when there is a choice. */
    public int forcedToken() {
        if (phase != Phase.BODY) return -1;
        if (bodyDone == layout.bodyLength(grid)) return layout.endOfImage();
        if (layout.hasRowSeparator() && bodyDone % (grid.cols() + 1) == grid.cols()) return layout.rowSeparator();
        return -1;
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
        switch (phase) {
            case BODY -> {
                // The gaps between image ids (one range before and one after, for Chameleon's contiguous ids).
                int from = 0;
                for (int id : imageIds) {
                    if (id > from) Arrays.fill(logits, from, id, Float.NEGATIVE_INFINITY);
                    from = id + 1;
                }
                Arrays.fill(logits, from, logits.length, Float.NEGATIVE_INFINITY);
                return imageIds;
            }
            case SIZE -> {
                for (int i = 0; i < logits.length; i++) if (!layout.isSizeToken(i)) logits[i] = Float.NEGATIVE_INFINITY;
            }
            case TEXT -> {
                for (int i = 0; i < logits.length; i++) if (imageToken[i]) logits[i] = Float.NEGATIVE_INFINITY;
                int eoi = vocabulary.endOfImage();
                if (eoi >= 0) logits[eoi] = Float.NEGATIVE_INFINITY;
                int boi = vocabulary.beginOfImage();
                if (output == Output.TEXT && boi >= 0) logits[boi] = Float.NEGATIVE_INFINITY;
            }
        }
        return null;
    }

    /** Advances on the chosen token. */
    public void accept(int token) {
        switch (phase) {
            case TEXT -> {
                if (token == vocabulary.beginOfImage()) {
                    bodyDone = 0;
                    if (layout.hasSizeTokens()) {
                        phase = Phase.SIZE;
                        heightToken = -1;
                    } else {
                        phase = Phase.BODY;
                        grid = layout.defaultGrid();
                    }
                }
            }
            case SIZE -> {
                if (heightToken < 0) {
                    heightToken = token;
                } else {
                    grid = layout.gridOfSizeTokens(heightToken, token);
                    phase = Phase.BODY;
                }
            }
            case BODY -> {
                if (bodyDone < layout.bodyLength(grid)) {
                    bodyDone++;
                } else {
                    phase = Phase.TEXT;
                    bodyDone = 0;
                    if (output == Output.IMAGE) finished = true;
                }
            }
        }
    }

    /** True once an image request has emitted its end-of-image. */
    public boolean finished() {
        return finished;
    }
}
