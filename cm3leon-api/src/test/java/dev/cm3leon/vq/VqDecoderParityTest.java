package dev.cm3leon.vq;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.checkpoint.SafetensorsFile;
import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Meta's VQ-GAN decoder on the vqgan fixture, loaded three ways (Meta's yaml with vqgan.safetensors, with
 * vqgan.ckpt, and the same tensors under HF's model.vqmodel. names): every golden case, intermediates and the float
 * image ≤ 1e-4, 8-bit pixels exact.
 */
class VqDecoderParityTest {
    static final double TOL = 1e-4;
    static final String BASE = "vqgan";
    static JsonNode golden;
    static final Map<String, VqGan> BY_PATH = new HashMap<>();

    static Path tmp;

    @BeforeAll
    static void load() throws java.io.IOException {
        tmp = java.nio.file.Files.createTempDirectory("vqgan-decoder");
        golden = Fixtures.json(BASE + "/golden.json");
        BY_PATH.put("yaml+safetensors", VqGan.load(VqFixtures.assemble(tmp.resolve("st"), "vqgan/vqgan.yaml", "vqgan/vqgan.safetensors")));
        BY_PATH.put("yaml+ckpt", VqGan.load(VqFixtures.assemble(tmp.resolve("ckpt"), "vqgan/vqgan.yaml", "vqgan/vqgan.ckpt")));
        VqConfig hf = VqConfig.readHfConfig(Fixtures.path("chameleon/model/config.json")).orElseThrow();
        try (var hfNamed = new PrefixedSource(SafetensorsFile.open(Fixtures.path("vqgan/vqgan.safetensors")), "model.vqmodel.")) {
            assertThat(hfNamed.tensors()).containsKey("model.vqmodel.decoder.up.2.block.0.conv1.weight");
            BY_PATH.put("hf-prefixed", VqGan.from(hf, hfNamed));
        }
    }

    @AfterAll
    static void clear() {
        BY_PATH.clear();
        VqFixtures.delete(tmp);
    }

    static Stream<Arguments> cases() {
        JsonNode cases = Fixtures.json(BASE + "/golden.json").get("cases");
        return Stream.of("yaml+safetensors", "yaml+ckpt", "hf-prefixed")
                .flatMap(path -> Stream.of("grid", "nonsquare", "partial_padded", "image", "rgba_extra")
                        .peek(c -> assertThat(cases.has(c)).as(c).isTrue())
                        .map(c -> Arguments.of(path, c)));
    }

    @ParameterizedTest(name = "{1} via {0}")
    @MethodSource("cases")
    void decodesEveryGoldenCaseLikeTheReference(String path, String name) {
        JsonNode c = golden.get("cases").get(name);
        int h = c.get("codes_hw").get(0).asInt(), w = c.get("codes_hw").get(1).asInt();
        CodeGrid grid = new CodeGrid(h, w, VqFixtures.i32(BASE, c.get("codes")));
        Map<String, FeatureMap> seen = new HashMap<>();
        FeatureMap decoded = BY_PATH.get(path).decode(grid, seen::put);

        assertClose(seen.get(VqProbe.POST_QUANT_CONV), c.get("post_quant_conv_out"));
        assertClose(seen.get(VqProbe.DECODER_CONV_IN), c.get("decoder_conv_in_out"));
        assertClose(seen.get(VqProbe.DECODER_MID), c.get("decoder_mid_out"));
        assertClose(seen.get(VqProbe.DECODER_PRE_NORM), c.get("decoder_pre_norm_out"));
        assertThat(decoded.height()).isEqualTo(4 * h);
        assertThat(decoded.width()).isEqualTo(4 * w);
        assertClose(decoded, c.get("decoded_f32_chw"));

        byte[] expected = VqFixtures.u8(BASE, c.get("rgb_u8_hwc"));
        RgbImage rgb = VqGan.toRgb(decoded);
        int differing = 0, maxLevels = 0;
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((rgb.rgb()[i] & 0xFF) - (expected[i] & 0xFF));
            if (d != 0) differing++;
            maxLevels = Math.max(maxLevels, d);
        }
        assertThat(differing).as("8-bit values differing (max %d levels)", maxLevels).isZero();
    }

    @ParameterizedTest
    @MethodSource("caseNames")
    void metasEightBitRuleReproducesTheReferencePixelsFromItsFloats(String name) {
        JsonNode c = golden.get("cases").get(name);
        JsonNode shape = c.get("decoded_f32_chw").get("shape");
        FeatureMap reference = new FeatureMap(3, shape.get(1).asInt(), shape.get(2).asInt(), Fixtures.f32(BASE, c.get("decoded_f32_chw")));
        assertThat(VqGan.toRgb(reference).rgb()).isEqualTo(VqFixtures.u8(BASE, c.get("rgb_u8_hwc")));
    }

    static Stream<String> caseNames() {
        return Stream.of("grid", "nonsquare", "partial_padded", "image", "rgba_extra");
    }

    @Test
    void anIncompleteImageIsPaddedWithItsFirstCode() {
        JsonNode cases = golden.get("cases");
        int[] full = VqFixtures.i32(BASE, cases.get("grid").get("codes"));
        CodeGrid padded = CodeGrid.padded(Arrays.copyOf(full, 40), 8, 8);
        assertThat(padded.codes()).containsExactly(VqFixtures.i32(BASE, cases.get("partial_padded").get("codes")));
    }

    @Test
    void theThreeLoadingPathsReadTheSameConfig() {
        VqConfig meta = VqConfig.readMetaYaml(Fixtures.path("vqgan/vqgan.yaml"));
        assertThat(meta).isEqualTo(VqConfig.readHfConfig(Fixtures.path("chameleon/model/config.json")).orElseThrow());
        BY_PATH.values().forEach(vq -> assertThat(vq.config()).isEqualTo(meta));
    }

    static void assertClose(FeatureMap actual, JsonNode expected) {
        assertThat(actual).isNotNull();
        float[] e = Fixtures.f32(BASE, expected);
        assertThat(actual.data()).hasSize(e.length);
        assertThat(Fixtures.maxAbsDiff(actual.data(), e)).as(expected.get("file").asText()).isLessThanOrEqualTo(TOL);
    }
}
