package dev.cm3leon.cli;

import dev.cm3leon.Cm3LeonException;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads image files for the commands. */
final class Images {
    private Images() {
    }

    static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file)) throw new Cm3LeonException(file + ": no such image file");
        try {
            BufferedImage img = ImageIO.read(file.toFile());
            if (img == null) throw new Cm3LeonException(file + ": not a PNG or JPEG image");
            return img;
        } catch (IOException e) {
            throw new Cm3LeonException(file + ": cannot read the image: " + e.getMessage());
        }
    }
}
