package dev.cm3leon.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.cm3leon.vq.ImageException;
import dev.cm3leon.vq.ImageFiles;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Any bytes either decode to an image within the pixel budget or are refused with an {@link ImageException}: no
 * decoder exception escapes, no image above the budget is decoded, and the JVM survives the native JPEG decoder.
 */
class ImageFuzzTest {
    private static final Path FILE = FuzzFiles.scratch(".img");
    private static final long BUDGET = 1 << 20;

    @FuzzTest(maxDuration = "5m")
    void decodesOrRefusesWithAnImageException(byte[] bytes) {
        FuzzFiles.write(FILE, bytes);
        try {
            BufferedImage image = ImageFiles.read(FILE, BUDGET);
            assertThat((long) image.getWidth() * image.getHeight()).isBetween(1L, BUDGET);
        } catch (ImageException refused) {
            assertThat(refused).hasMessageStartingWith(FILE.toString());
        }
    }
}
