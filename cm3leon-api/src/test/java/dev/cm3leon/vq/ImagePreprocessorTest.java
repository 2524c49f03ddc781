package dev.cm3leon.vq;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.VocabularyMap;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Preprocessing against HF's ChameleonImageProcessor (chameleon fixture) and Meta's image tokenizer (vqgan fixture):
 * pixel values bit-exact, including Pillow's Lanczos resize of the RGBA extra image.
 */
class ImagePreprocessorTest {
    static JsonNode golden;
    static SafetensorsCheckpoint checkpoint;
    static VqGan vq;
    static VocabularyMap vocabulary;
    static ImagePreprocessor hf;

    @BeforeAll
    static void load() {
        golden = Fixtures.json("chameleon/golden.json");
        ModelConfig config = ModelConfig.read(Fixtures.path("chameleon/model/config.json"));
        vocabulary = config.vocabulary().orElseThrow();
        checkpoint = SafetensorsCheckpoint.open(Fixtures.path("chameleon/model"));
        vq = VqGan.from(config.vq().orElseThrow(), checkpoint);
        hf = ImagePreprocessor.fromConfig(Fixtures.path("chameleon/model/preprocessor_config.json"));
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    @Test
    void pixelValuesOfTheTestImageAreBitExact() {
        Path png = Fixtures.path("chameleon/image.png");
        assertThat(RgbImage.of(ImageFiles.read(png)).rgb()).isEqualTo(VqFixtures.u8("chameleon", golden.get("image").get("raw_u8")));
        FeatureMap px = hf.preprocess(png);
        assertThat(px.channels()).isEqualTo(3);
        assertThat(px.height()).isEqualTo(32);
        assertThat(px.data()).isEqualTo(Fixtures.f32("chameleon", golden.get("image").get("pixel_values")));
        assertThat(bpe(vq.encode(px))).containsExactly(Fixtures.ints(golden.get("image").get("vq").get("bpe_ids_rowmajor")));
    }

    @Test
    void rgbaImageIsBlendedOntoWhiteResizedWithPillowsLanczosAndCropped() {
        JsonNode extra = golden.get("image_extra_preprocess");
        Path png = Fixtures.path("chameleon/" + extra.get("png").asText());
        // The blend, recomputed from the raw RGBA bytes the reference read.
        byte[] rgba = VqFixtures.u8("chameleon", extra.get("raw_u8_hwc_rgba"));
        RgbImage blended = RgbImage.of(ImageFiles.read(png));
        assertThat(blended.width()).isEqualTo(48);
        assertThat(blended.height()).isEqualTo(40);
        for (int p = 0; p < 48 * 40; p++) {
            double a = (rgba[p * 4 + 3] & 0xFF) / 255.0;
            for (int c = 0; c < 3; c++) {
                int expected = (int) ((1 - a) * 255 + a * (rgba[p * 4 + c] & 0xFF));
                assertThat(blended.rgb()[p * 3 + c] & 0xFF).as("pixel %d channel %d", p, c).isEqualTo(expected);
            }
        }
        float[] expected = Fixtures.f32("chameleon", extra.get("pixel_values"));
        FeatureMap px = hf.preprocess(png);
        int differing = 0;
        for (int i = 0; i < expected.length; i++) if (px.data()[i] != expected[i]) differing++;
        assertThat(differing).as("values differing, max |Δ| %s", Fixtures.maxAbsDiff(px.data(), expected)).isZero();
        assertThat(bpe(vq.encode(px))).containsExactly(Fixtures.ints(extra.get("bpe_ids_rowmajor")));
    }

    @Test
    void metasPreprocessingMatchesItsTokenizer() {
        JsonNode meta = Fixtures.json("vqgan/golden.json");
        ImagePreprocessor p = ImagePreprocessor.meta(32);
        FeatureMap image = p.preprocess(Fixtures.path("chameleon/image.png"));
        assertThat(image.data()).isEqualTo(Fixtures.f32("vqgan", meta.get("image_encode").get("pixel_input")));
        FeatureMap rgba = p.preprocess(Fixtures.path("chameleon/image_extra_rgba.png"));
        assertThat(rgba.data()).isEqualTo(Fixtures.f32("vqgan", meta.get("image_extra_rgba_encode").get("pixel_input")));

        Map<String, FeatureMap> seen = new HashMap<>();
        assertThat(vq.encode(image, seen::put).codes()).containsExactly(Fixtures.ints(meta.get("image_encode").get("codes_rowmajor")));
        assertThat(Fixtures.maxAbsDiff(seen.get(VqProbe.QUANT_CONV).data(),
                Fixtures.f32("vqgan", meta.get("image_encode").get("quant_conv_out")))).isLessThanOrEqualTo(1e-4);
        assertThat(vq.encode(rgba).codes()).containsExactly(Fixtures.ints(meta.get("image_extra_rgba_encode").get("codes_rowmajor")));
    }

    @Test
    void blendingTruncatesAsNumpyDoes() {
        BufferedImage img = new BufferedImage(3, 1, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0x00_10_20_30);    // fully transparent → white
        img.setRGB(1, 0, 0x80_00_00_00);    // half-transparent black → (1 − 128/255)·255 = 127.000…: 127
        img.setRGB(2, 0, 0xFF_12_34_56);    // opaque → unchanged
        RgbImage rgb = RgbImage.of(img);
        assertThat(rgb.get(0, 0, 0)).isEqualTo(255);
        assertThat(rgb.get(1, 0, 1)).isEqualTo((int) ((1 - 128 / 255.0) * 255));
        assertThat(rgb.get(2, 0, 2)).isEqualTo(0x56);
    }

    @Test
    void greyImagesAreReplicatedWithoutColourConversion() {
        BufferedImage grey = new BufferedImage(2, 2, BufferedImage.TYPE_BYTE_GRAY);
        grey.getRaster().setSample(0, 0, 0, 100);
        RgbImage rgb = RgbImage.of(grey);
        assertThat(new int[]{rgb.get(0, 0, 0), rgb.get(0, 0, 1), rgb.get(0, 0, 2), rgb.get(1, 1, 0)}).containsExactly(100, 100, 100, 0);
    }

    @Test
    void centreCropPadsWithBlackWhenTheImageIsSmaller() {
        byte[] px = new byte[2 * 1 * 3];
        java.util.Arrays.fill(px, (byte) 200);
        RgbImage crop = new RgbImage(2, 1, px).centerCrop(4, 3);
        // HF: left = ⌊(2 − 4)/2⌋ = −1, top = ⌊(1 − 3)/2⌋ = −1: the image lands at (1, 1).
        assertThat(crop.get(1, 1, 0)).isEqualTo(200);
        assertThat(crop.get(2, 1, 2)).isEqualTo(200);
        assertThat(crop.get(0, 1, 0)).isZero();
        assertThat(crop.get(1, 0, 0)).isZero();
        assertThat(crop.get(3, 2, 0)).isZero();
    }

    @Test
    void resizeKeepsTheShortestEdgeAndTruncatesTheLongOne() {
        RgbImage wide = new RgbImage(48, 40, new byte[48 * 40 * 3]);
        ImagePreprocessor noCrop = ImagePreprocessor.chameleon(32);
        RgbImage r = noCrop.resizeAndCrop(wide);
        assertThat(r.width()).isEqualTo(32);
        RgbImage tall = new RgbImage(7, 100, new byte[7 * 100 * 3]);
        assertThat(ImagePreprocessor.chameleon(32).resizeAndCrop(tall).height()).isEqualTo(32);
    }

    private static int[] bpe(CodeGrid codes) {
        return java.util.Arrays.stream(codes.codes()).map(vocabulary::bpeIdOfCode).toArray();
    }
}
