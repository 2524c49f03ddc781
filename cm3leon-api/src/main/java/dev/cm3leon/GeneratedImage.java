package dev.cm3leon;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A generated image: the best sample (by score when re-ranked, else the first), every sample, and timings.
 */
public record GeneratedImage(BufferedImage image, int[] codes, int[] tokens, double score, List<Sample> samples,
                             Timings timings, List<Retrieval.Document> documents, Optional<Speculation> speculation) {
    public GeneratedImage(BufferedImage image, int[] codes, int[] tokens, double score, List<Sample> samples,
                          Timings timings, List<Retrieval.Document> documents) {
        this(image, codes, tokens, score, samples, timings, documents, Optional.empty());
    }

    /** One decoded sample; {@code score} is NaN when no scorer ran. */
    public record Sample(BufferedImage image, int[] codes, int[] tokens, double score, boolean contrastive) {
    }

    /** Writes the image as PNG, through a temporary file so a failure leaves no half-written file. */
    public Path writePng(Path target) {
        return dev.cm3leon.vq.ImageFiles.writePng(image, target);
    }
}
