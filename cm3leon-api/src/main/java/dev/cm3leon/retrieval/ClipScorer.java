package dev.cm3leon.retrieval;

import dev.cm3leon.decode.Scorer;
import dev.cm3leon.engine.cpu.CpuOps;

import java.awt.image.BufferedImage;

/**
 * CLIP image–text similarity for re-ranking: the cosine of the normalised text and image embeddings, in [−1, 1].
 * {@link #logit} gives CLIP's own scale ({@code logits_per_image}). Does not own the embedder.
 */
public final class ClipScorer implements Scorer {
    private final ClipEmbedder clip;

    public ClipScorer(ClipEmbedder clip) {
        this.clip = clip;
    }

    @Override
    public double score(String prompt, BufferedImage image) {
        float[] t = clip.embedText(prompt), i = clip.embedImage(image);
        return CpuOps.dot(t, 0, i, 0, t.length);
    }

    /** {@code exp(logit_scale) · cos(text, image)}, as HF's {@code logits_per_image}. */
    public double logit(String prompt, BufferedImage image) {
        return clip.logitScale() * score(prompt, image);
    }
}
