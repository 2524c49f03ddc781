package dev.cm3leon;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writing images without leaving half-written files behind. */
public final class ImageFiles {
    private ImageFiles() {
    }

    /** Writes PNG through a temporary file in the same folder, then moves it into place. */
    public static Path writePng(BufferedImage image, Path target) {
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
                    // a hidden temporary file next to the target; nothing more to do
                }
            }
        }
    }
}
