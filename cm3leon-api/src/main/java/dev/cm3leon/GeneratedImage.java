package dev.cm3leon;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * A generated image: the best sample (by score when re-ranked, else the first), every sample, and timings.
 */
public record GeneratedImage(BufferedImage image, int[] codes, int[] tokens, double score, List<Sample> samples,
                             Timings timings, List<Retrieval.Document> documents) {
    /** One decoded sample; {@code score} is NaN when no scorer ran. */
    public record Sample(BufferedImage image, int[] codes, int[] tokens, double score, boolean contrastive) {
    }

    /** Writes the image as PNG, through a temporary file so a failure leaves no half-written file. */
    public Path writePng(Path target) {
        return writePng(image, target);
    }

    static Path writePng(BufferedImage image, Path target) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + target.getFileName(), ".tmp");
            if (!ImageIO.write(image, "png", tmp.toFile())) throw new IOException("no PNG writer available");
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return target;
        } catch (IOException e) {
            throw new Cm3LeonException("cannot write " + target + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // hidden temporary file next to the target; nothing else to do
                }
            }
        }
    }
}
