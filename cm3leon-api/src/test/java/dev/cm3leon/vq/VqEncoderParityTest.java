package dev.cm3leon.vq;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** HF Chameleon's VQ encoder on the chameleon fixture: intermediates ≤ 1e-4, codes and BPE ids exact. */
class VqEncoderParityTest {
    static final double TOL = 1e-4;
    static JsonNode golden;
    static SafetensorsCheckpoint checkpoint;
    static VqGan vq;

    @BeforeAll
    static void load() {
        golden = Fixtures.json("chameleon/golden.json");
        checkpoint = SafetensorsCheckpoint.open(Fixtures.path("chameleon/model"));
        vq = VqGan.from(VqConfig.readHfConfig(Fixtures.path("chameleon/model/config.json")).orElseThrow(), checkpoint);
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    @Test
    void intermediatesAndCodesMatchTheReference() {
        JsonNode image = golden.get("image");
        FeatureMap pixels = new FeatureMap(3, 32, 32, Fixtures.f32("chameleon", image.get("pixel_values")));
        Map<String, FeatureMap> seen = new HashMap<>();
        CodeGrid codes = vq.encode(pixels, seen::put);

        JsonNode q = image.get("vq");
        assertClose(seen.get(VqProbe.ENCODER_CONV_IN), Fixtures.f32("chameleon", q.get("conv_in_out")));
        assertClose(seen.get(VqProbe.ENCODER_MID), Fixtures.f32("chameleon", q.get("mid_block2_out")));
        assertClose(seen.get(VqProbe.ENCODER_OUT), Fixtures.f32("chameleon", q.get("encoder_out")));
        assertClose(seen.get(VqProbe.QUANT_CONV), Fixtures.f32("chameleon", q.get("quant_conv_out_latent")));
        assertThat(codes.height()).isEqualTo(8);
        assertThat(codes.width()).isEqualTo(8);
        assertThat(codes.codes()).containsExactly(Fixtures.ints(q.get("codebook_indices_rowmajor")));
    }

    @Test
    void decodingWithoutADecoderNamesTheMissingTensors() {
        assertThat(vq.canDecode()).isFalse();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> vq.decode(CodeGrid.square(new int[64])))
                .isInstanceOf(VqException.class)
                .hasMessageContaining("model.vqmodel.decoder.conv_in.weight")
                .hasMessageContaining("vqgan.safetensors");
    }

    static void assertClose(FeatureMap actual, float[] expected) {
        assertThat(actual).isNotNull();
        assertThat(Fixtures.maxAbsDiff(actual.data(), expected)).isLessThanOrEqualTo(TOL);
    }
}
