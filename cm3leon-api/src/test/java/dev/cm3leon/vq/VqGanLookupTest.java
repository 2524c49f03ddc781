package dev.cm3leon.vq;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.InvalidRequestException;
import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.RowSource;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.SafetensorsFile;
import dev.cm3leon.checkpoint.SafetensorsWriter;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Where a checkpoint's image decoder comes from: Meta's VQ-GAN files in the folder, in its {@code tokenizer/}, at a
 * path the user names, or (Anole's HF folders) {@code model.vqmodel.decoder.*} tensors in the shards themselves.
 */
class VqGanLookupTest {
    static final EngineOptions CPU = new EngineOptions("cpu", false);
    static final String[] HF_FILES = {"chameleon/model/config.json", "chameleon/model/model.safetensors",
            "chameleon/model/preprocessor_config.json", "chameleon/model/generation_config.json"};
    static Path tmp;
    static CodeGrid codes;
    static byte[] expectedRgb;

    @BeforeAll
    static void golden() throws IOException {
        tmp = Files.createTempDirectory("vqgan-lookup");
        JsonNode c = Fixtures.json("vqgan/golden.json").get("cases").get("image");
        codes = new CodeGrid(8, 8, VqFixtures.i32("vqgan", c.get("codes")));
        expectedRgb = VqFixtures.u8("vqgan", c.get("rgb_u8_hwc"));
    }

    @AfterAll
    static void cleanUp() {
        VqFixtures.delete(tmp);
    }

    static void assertDrawsMetasImage(Cm3Leon model) {
        VqGan vq = model.vq().orElseThrow();
        assertThat(vq.canDecode()).isTrue();
        assertThat(VqGan.toRgb(vq.decode(codes)).rgb()).isEqualTo(expectedRgb);
    }

    @Test
    void withoutADecoderTheErrorNamesTheFilesThatWouldEnableImageOutput() {
        Path f = VqFixtures.assemble(tmp.resolve("hf-only"), HF_FILES);
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThat(m.vq().orElseThrow().canDecode()).isFalse();
            assertThatThrownBy(() -> m.textToImage("a red circle")).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("vqgan.yaml with vqgan.ckpt or vqgan.safetensors")
                    .hasMessageContaining(f + " or " + f.resolve("tokenizer"))
                    .hasMessageContaining("withVqGan(path)").hasMessageContaining("--vqgan PATH");
        }
    }

    @Test
    void metasFilesInTheTokenizerFolderSupplyTheDecoder() {
        Path f = VqFixtures.assemble(tmp.resolve("hf-tokenizer-dir"), HF_FILES);
        VqFixtures.assemble(f.resolve("tokenizer"), "vqgan/vqgan.yaml", "vqgan/vqgan.ckpt");
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThat(m.vqGanFiles().weights()).contains(f.resolve("tokenizer/vqgan.ckpt"));
            assertDrawsMetasImage(m);
        }
    }

    @Test
    void aFolderOrAFileTheUserNamesSuppliesTheDecoder() {
        Path f = VqFixtures.assemble(tmp.resolve("hf-user-path"), HF_FILES);
        Path elsewhere = VqFixtures.assemble(tmp.resolve("downloads/chameleon-tokenizer"), "vqgan/vqgan.yaml", "vqgan/vqgan.safetensors");
        try (Cm3Leon m = Cm3Leon.load(f, CPU.withVqGan(elsewhere))) {
            assertThat(m.vqGanFiles().weights()).contains(elsewhere.resolve("vqgan.safetensors"));
            assertDrawsMetasImage(m);
        }
        VqFixtures.assemble(elsewhere, "vqgan/vqgan.ckpt");
        try (Cm3Leon m = Cm3Leon.load(f, CPU.withVqGan(elsewhere.resolve("vqgan.ckpt")))) {
            assertThat(m.vqGanFiles().weights()).contains(elsewhere.resolve("vqgan.ckpt"));
            assertDrawsMetasImage(m);
        }
    }

    @Test
    void aUserPathThatIsNotThereIsRefused() {
        Path f = VqFixtures.assemble(tmp.resolve("hf-bad-user-path"), HF_FILES);
        Path missing = tmp.resolve("nowhere/vqgan.ckpt");
        assertThatThrownBy(() -> Cm3Leon.load(f, CPU.withVqGan(missing))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("not found");
    }

    @Test
    void anAnoleHfFolderCarriesItsDecoderInTheShards() throws IOException {
        Path f = Files.createDirectories(tmp.resolve("anole-hf"));
        VqFixtures.assemble(f, "chameleon/model/config.json", "chameleon/model/preprocessor_config.json");
        // Anole's converter keeps the decoder: HF name = model.vqmodel. + Meta's name, beside the rest.
        Map<String, Tensor> all = new LinkedHashMap<>();
        try (SafetensorsCheckpoint hf = SafetensorsCheckpoint.open(Fixtures.path("chameleon/model"));
             SafetensorsFile meta = SafetensorsFile.open(Fixtures.path("vqgan/vqgan.safetensors"))) {
            all.putAll(hf.tensors());
            meta.tensors().values().stream().filter(t -> t.name().startsWith("decoder.") || t.name().startsWith("post_quant_conv."))
                    .forEach(t -> all.put("model.vqmodel." + t.name(), t));
            SafetensorsWriter.write(f.resolve("model.safetensors"), RowSource.of(new Named(all)), DType.F32);
        }
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThat(m.vqGanFiles().weights()).isEmpty();
            assertThat(m.checkpoint().tensors()).containsKey("model.vqmodel.decoder.conv_in.weight");
            assertDrawsMetasImage(m);
        }
    }

    /** Tensors of several sources under one map, for writing them out together. */
    record Named(Map<String, Tensor> tensors) implements TensorSource {
        public String describe() {
            return "merged";
        }

        public void close() {
        }
    }

    @Test
    void aYamlThatContradictsConfigJsonIsRefused() throws IOException {
        Path f = VqFixtures.assemble(tmp.resolve("hf-contradicting-yaml"), HF_FILES);
        Files.createDirectories(f.resolve("tokenizer"));
        Files.writeString(f.resolve("tokenizer/vqgan.yaml"),
                Files.readString(Fixtures.path("vqgan/vqgan.yaml")).replace("n_embed: 32", "n_embed: 64"));
        VqFixtures.assemble(f.resolve("tokenizer"), "vqgan/vqgan.ckpt");
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThatThrownBy(m::vq).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining(f.resolve("tokenizer/vqgan.yaml").toString()).hasMessageContaining("config.json's vq_config");
        }
    }
}
