package dev.cm3leon.vq;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Prompts with {@code <image>} placeholders plus pixels, end to end on the CPU engine against HF's forward and
 * generate with {@code pixel_values}: the placeholders become the images' BPE ids, in order.
 */
class ImagePromptParityTest {
    static final double TOL = 1e-4;
    static final String BASE = "chameleon";
    static JsonNode golden;
    static Cm3Leon model;

    @BeforeAll
    static void load() {
        golden = Fixtures.json(BASE + "/golden.json");
        model = Cm3Leon.load(Fixtures.path(BASE + "/model"), EngineOptions.defaults().withBackend("cpu"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static FeatureMap pixels(String file) {
        return new FeatureMap(3, 32, 32, Fixtures.f32(Fixtures.path(BASE).resolve(file)));
    }

    @Test
    void mixedPromptWithPixelsMatchesTheReference() {
        JsonNode c = golden.get("forward").get("mixed_pixels");
        int[] ids = model.fillImagePlaceholders(Fixtures.ints(c.get("input_ids")), List.of(pixels(c.get("pixel_values").asText())));
        assertThat(ids).containsExactly(Fixtures.ints(golden.get("forward").get("mixed_ids").get("input_ids")));
        float[] logits = model.logits(ids);
        assertThat(Fixtures.maxAbsDiff(logits, Fixtures.f32(BASE, c.get("logits")))).isLessThanOrEqualTo(TOL);
    }

    @Test
    void twoImagesFillTheirPlaceholderRunsInOrder() {
        JsonNode c = golden.get("forward").get("two_images_pixels");
        List<FeatureMap> px = new ArrayList<>();
        c.get("pixel_values").forEach(f -> px.add(pixels(f.asText())));
        int[] ids = model.fillImagePlaceholders(Fixtures.ints(c.get("input_ids")), px);
        assertThat(ids).containsExactly(Fixtures.ints(c.get("equivalent_input_ids")));
        assertThat(Fixtures.maxAbsDiff(model.logits(ids), Fixtures.f32(BASE, c.get("logits")))).isLessThanOrEqualTo(TOL);

        // The same ids from the image files, through the checkpoint's own preprocessing.
        int[] fromFiles = model.fillImagePlaceholders(Fixtures.ints(c.get("input_ids")), List.of(
                model.imagePreprocessor().preprocess(Fixtures.path(BASE + "/image.png")),
                model.imagePreprocessor().preprocess(Fixtures.path(BASE + "/image_extra_rgba.png"))));
        assertThat(fromFiles).containsExactly(ids);
    }

    @Test
    void greedyGenerationFromAnImagePromptReproducesTheReference() {
        JsonNode c = golden.get("generate").get("cases").get("image");
        assertThat(c.get("uses_pixel_values").asBoolean()).isTrue();
        int[] prompt = model.fillImagePlaceholders(Fixtures.ints(c.get("prompt_ids")), List.of(pixels("golden/pixel_values.f32.bin")));
        List<float[]> steps = new ArrayList<>();
        int[] produced = model.generateGreedy(prompt, c.get("n_new").asInt(), steps::add);
        assertThat(produced).containsExactly(Fixtures.ints(c.get("new_token_ids")));
        float[] expected = Fixtures.f32(BASE, c.get("step_logits"));
        int v = model.config().vocabSize();
        for (int i = 0; i < steps.size(); i++) {
            assertThat(Fixtures.maxAbsDiff(steps.get(i), Arrays.copyOfRange(expected, i * v, (i + 1) * v)))
                    .as("step %d", i).isLessThanOrEqualTo(TOL);
        }
    }

    @Test
    void imageTokensOfAFileAreTheReferenceBpeIds() {
        assertThat(model.vq()).isPresent();
        assertThat(model.imageTokens(Fixtures.path(BASE + "/image.png")))
                .containsExactly(Fixtures.ints(golden.get("image").get("vq").get("bpe_ids_rowmajor")));
    }

    @Test
    void placeholdersThatDoNotMatchTheImagesAreRefused() {
        int[] ids = Fixtures.ints(golden.get("forward").get("mixed_pixels").get("input_ids"));
        FeatureMap px = pixels("golden/pixel_values.f32.bin");
        assertThatThrownBy(() -> model.fillImagePlaceholders(ids, List.of(px, px)))
                .isInstanceOf(VqException.class).hasMessageContaining("1 run(s) of <image> placeholders (id 38) but 2 image(s)");
        int[] shortRun = Arrays.copyOf(ids, ids.length);
        shortRun[10] = 100;
        assertThatThrownBy(() -> model.fillImagePlaceholders(shortRun, List.of(px)))
                .isInstanceOf(VqException.class).hasMessageContaining("2 run(s)");
        int[] trimmed = new int[ids.length - 1];
        System.arraycopy(ids, 0, trimmed, 0, 5);
        System.arraycopy(ids, 6, trimmed, 5, ids.length - 6);
        assertThatThrownBy(() -> model.fillImagePlaceholders(trimmed, List.of(px)))
                .isInstanceOf(VqException.class).hasMessageContaining("the <image> run at position 5 has 63 placeholders; an image takes 64 tokens");
    }
}
