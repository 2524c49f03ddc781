package dev.cm3leon.decode;

import java.awt.image.BufferedImage;

/**
 * Scores how well an image matches a text, for re-ranking N samples (CLIP similarity by default once a CLIP model is
 * loaded). Higher is better. Implementations must be thread-safe.
 */
@FunctionalInterface
public interface Scorer {
    double score(String text, BufferedImage image);
}
