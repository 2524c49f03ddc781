package dev.cm3leon.decode;

import java.awt.image.BufferedImage;

/**
 * How well an image matches a prompt, for re-ranking N samples (higher is better). The default is CLIP image–text
 * similarity ({@code dev.cm3leon.retrieval.ClipScorer}); any scorer of the same shape can replace it.
 */
@FunctionalInterface
public interface Scorer {
    double score(String prompt, BufferedImage image);
}
