package dev.cm3leon.retrieval;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** CLIPImageProcessor on the clip fixture's two images: decode, Pillow bicubic resize and pixel values bit-exact. */
class ClipImageProcessorTest {
    static JsonNode golden;
    static ClipImageProcessor processor;

    @BeforeAll
    static void load() {
        golden = Fixtures.json("clip/golden.json").get("image_preprocessing").get("images");
        processor = ClipImageProcessor.load(Fixtures.path("clip/model"), 32);
    }

    @ParameterizedTest
    @CsvSource({"exact_32x32, chameleon/image.png", "resize_50x37, clip/image_resize_50x37.png"})
    void pixelValuesAreBitExact(String name, String png) throws IOException {
        JsonNode c = golden.get(name);
        Path base = Fixtures.path("clip");
        RgbImage rgb = RgbImage.of(ImageIO.read(Fixtures.path(png).toFile()));
        assertThat(rgb.pixels()).as("decoded u8").isEqualTo(Fixtures.bytes(base.resolve(c.get("raw_u8_hwc").get("file").asText())));

        RgbImage resized = processor.resized(rgb);
        JsonNode resizedDesc = c.get("resized_u8_hwc_before_crop");
        int[] shape = Fixtures.ints(resizedDesc.get("shape"));
        assertThat(new int[]{resized.height(), resized.width()}).containsExactly(shape[0], shape[1]);
        assertThat(resized.pixels()).as("Pillow bicubic resize").isEqualTo(Fixtures.bytes(base.resolve(resizedDesc.get("file").asText())));

        float[] expected = Fixtures.f32("clip", c.get("pixel_values"));
        assertThat(Fixtures.maxAbsDiff(processor.preprocess(rgb), expected)).isZero();
    }
}
