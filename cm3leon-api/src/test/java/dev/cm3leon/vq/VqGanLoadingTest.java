package dev.cm3leon.vq;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Where the image tokenizer's weights come from, and what it refuses. */
class VqGanLoadingTest {
    static Path tmp;
    static Path hfWithMetaDecoder;

    @BeforeAll
    static void folders() throws IOException {
        tmp = Files.createTempDirectory("vqgan-loading");
        hfWithMetaDecoder = VqFixtures.assemble(tmp.resolve("hf+ckpt"), "chameleon/model/config.json",
                "chameleon/model/model.safetensors", "chameleon/model/preprocessor_config.json",
                "chameleon/model/generation_config.json", "vqgan/vqgan.ckpt");
    }

    @AfterAll
    static void cleanUp() {
        VqFixtures.delete(tmp);
    }

    @Test
    void anHfFolderEncodesButHasNoDecoder() {
        VqGan vq = VqGan.load(Fixtures.path("chameleon/model"));
        assertThat(vq.canDecode()).isFalse();
        assertThatThrownBy(() -> vq.decodeImage(CodeGrid.square(new int[64]))).isInstanceOf(VqException.class)
                .hasMessageContaining("has no VQ-GAN decoder").hasMessageContaining("model.vqmodel.decoder.conv_in.weight");
    }

    @Test
    void metasCheckpointBesideAnHfFolderSuppliesTheDecoder() {
        JsonNode c = Fixtures.json("vqgan/golden.json").get("cases").get("image");
        CodeGrid codes = new CodeGrid(8, 8, VqFixtures.i32("vqgan", c.get("codes")));
        VqGan vq = VqGan.load(hfWithMetaDecoder);
        assertThat(vq.canDecode()).isTrue();
        assertThat(Fixtures.maxAbsDiff(vq.decode(codes).data(), Fixtures.f32("vqgan", c.get("decoded_f32_chw")))).isLessThanOrEqualTo(1e-4);
        try (Cm3Leon model = Cm3Leon.load(hfWithMetaDecoder, EngineOptions.defaults().withBackend("cpu"))) {
            VqGan fromModel = model.vq().orElseThrow();
            assertThat(fromModel.canDecode()).isTrue();
            assertThat(model.vq().orElseThrow()).isSameAs(fromModel);
            assertThat(VqGan.toRgb(fromModel.decode(codes)).rgb()).isEqualTo(VqFixtures.u8("vqgan", c.get("rgb_u8_hwc")));
        }
    }

    @Test
    void codesOutsideTheCodebookAreRefused() {
        VqGan vq = VqGan.load(hfWithMetaDecoder);
        int[] codes = new int[64];
        codes[11] = 32;
        assertThatThrownBy(() -> vq.decode(CodeGrid.square(codes))).isInstanceOf(VqException.class)
                .hasMessage("code 32 at position 11 (row 1, column 3) is outside the codebook of 32 entries");
        codes[11] = -1;
        assertThatThrownBy(() -> vq.decode(CodeGrid.square(codes))).isInstanceOf(VqException.class)
                .hasMessageContaining("code -1 at position 11");
        assertThatThrownBy(() -> CodeGrid.square(new int[10])).isInstanceOf(VqException.class)
                .hasMessageContaining("10 codes do not form a square grid");
        assertThatThrownBy(() -> CodeGrid.padded(new int[65], 8, 8)).isInstanceOf(VqException.class)
                .hasMessageContaining("65 codes do not fit a 8×8 grid");
    }

    @Test
    void aFolderWithoutWeightsOrConfigIsRefused() throws IOException {
        Path onlyYaml = VqFixtures.assemble(tmp.resolve("yaml-only"), "vqgan/vqgan.yaml");
        assertThatThrownBy(() -> VqGan.load(onlyYaml)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("no image tokenizer weights");
        Path onlyWeights = VqFixtures.assemble(tmp.resolve("weights-only"), "vqgan/vqgan.safetensors");
        assertThatThrownBy(() -> VqGan.load(onlyWeights)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("no image tokenizer config");
        Path disagreeing = VqFixtures.assemble(tmp.resolve("disagree"), "chameleon/model/config.json", "vqgan/vqgan.safetensors");
        Files.writeString(disagreeing.resolve("vqgan.yaml"), Files.readString(Fixtures.path("vqgan/vqgan.yaml")).replace("n_embed: 32", "n_embed: 64"));
        assertThatThrownBy(() -> VqGan.load(disagreeing)).isInstanceOf(CheckpointException.class).hasMessageContaining("differ");
    }
}
