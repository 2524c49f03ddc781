package dev.cm3leon.langchain4j;

import dev.cm3leon.Cm3Leon;
import dev.langchain4j.data.image.Image;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Base64;

import static org.assertj.core.api.Assertions.assertThat;

/** The shipped demo model, loaded once per test class, and pixel comparisons. */
final class DemoModel {
    static final Path FOLDER = Path.of(System.getProperty("cm3leon.demoModel", "../demo-model"));

    private DemoModel() {
    }

    static Cm3Leon load() {
        return Cm3Leon.load(FOLDER);
    }

    static BufferedImage decode(Image image) {
        assertThat(image.mimeType()).isEqualTo("image/png");
        try {
            BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(image.base64Data())));
            assertThat(decoded).as("a decodable PNG").isNotNull();
            return decoded;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    static void assertSamePixels(BufferedImage actual, BufferedImage expected) {
        assertThat(actual.getWidth()).isEqualTo(expected.getWidth());
        assertThat(actual.getHeight()).isEqualTo(expected.getHeight());
        assertThat(pixels(actual)).isEqualTo(pixels(expected));
    }

    static Image asLangChain4j(BufferedImage image) {
        return Images.toLangChain4j(image);
    }
}
