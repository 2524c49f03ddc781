package dev.cm3leon.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.cm3leon.vq.ImageException;
import dev.cm3leon.vq.ImageFiles;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Any bytes either decode to an image within the pixel budget or are refused with an {@link ImageException}: no
 * decoder exception escapes, no image above the budget is decoded, and the JVM survives the native JPEG decoder.
 */
class ImageFuzzTest {
    private static final Path FILE = FuzzFiles.scratch(".img");
    private static final long BUDGET = 1 << 20;
    /** Valid images to mutate: the JDK's decoders are not instrumented, so coverage cannot lead the fuzzer into them. */
    private static final List<byte[]> BASES = List.of(seed("fixture.png"), seed("gray.png"), seed("small.jpeg"),
            seed("small.gif"), seed("small.bmp"));

    @FuzzTest(maxDuration = "5m")
    void decodesOrRefusesWithAnImageException(byte[] bytes) {
        read(bytes);
    }

    /** A valid PNG, JPEG, GIF or BMP with a few bytes overwritten and perhaps its end cut off. */
    @FuzzTest(maxDuration = "5m")
    void mutatedImagesDecodeOrAreRefused(FuzzedDataProvider data) {
        byte[] image = BASES.get(data.consumeInt(0, BASES.size() - 1)).clone();
        int patches = data.consumeInt(1, 16);
        for (int i = 0; i < patches && data.remainingBytes() > 0; i++) {
            image[data.consumeInt(0, image.length - 1)] = data.consumeByte();
        }
        int length = data.consumeBoolean() ? data.consumeInt(1, image.length) : image.length;
        read(java.util.Arrays.copyOf(image, length));
    }

    private static void read(byte[] bytes) {
        FuzzFiles.write(FILE, bytes);
        try {
            BufferedImage image = ImageFiles.read(FILE, BUDGET);
            assertThat((long) image.getWidth() * image.getHeight()).isBetween(1L, BUDGET);
        } catch (ImageException refused) {
            assertThat(refused).hasMessageStartingWith(FILE.toString());
        }
    }

    private static byte[] seed(String name) {
        try (InputStream in = ImageFuzzTest.class.getResourceAsStream("ImageFuzzTestInputs/decodesOrRefusesWithAnImageException/" + name)) {
            if (in == null) throw new IllegalStateException("missing seed image " + name);
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
