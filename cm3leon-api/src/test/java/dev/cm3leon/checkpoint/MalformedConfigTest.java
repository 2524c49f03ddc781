package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** config.json defects, each named by field; checkpoint tensors that do not fit the config, named by tensor. */
class MalformedConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    static ObjectNode fixtureConfig() {
        try {
            return (ObjectNode) JSON.readTree(Fixtures.path("chameleon/model/config.json").toFile());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Arguments edit(String name, Consumer<ObjectNode> change, String expected) {
        return Arguments.of(name, change, expected);
    }

    static Stream<Arguments> brokenConfigs() {
        return Stream.of(
                edit("missing hidden_size", c -> c.remove("hidden_size"), "field 'hidden_size' is missing"),
                edit("hidden_size a string", c -> c.put("hidden_size", "64"), "field 'hidden_size' must be an integer"),
                edit("zero layers", c -> c.put("num_hidden_layers", 0), "field 'num_hidden_layers' must be at least 1"),
                edit("heads do not divide hidden", c -> c.put("num_attention_heads", 5), "field 'num_attention_heads' (5) must divide hidden_size (64)"),
                edit("kv heads do not divide heads", c -> c.put("num_key_value_heads", 3), "field 'num_key_value_heads' (3) must divide"),
                edit("negative eps", c -> c.put("rms_norm_eps", -1.0), "field 'rms_norm_eps' must be a positive"),
                edit("unknown model type", c -> c.put("model_type", "gpt9"), "field 'model_type' is 'gpt9'"),
                edit("rope scaling", c -> c.putObject("rope_scaling").put("type", "linear"), "field 'rope_scaling'"),
                edit("swin_norm not boolean", c -> c.put("swin_norm", "yes"), "field 'swin_norm' must be true or false"),
                edit("missing vocabulary map", c -> c.remove("vocabulary_map"), "field 'vocabulary_map' is missing"),
                edit("duplicate ids in vocabulary map", c -> ((ObjectNode) c.get("vocabulary_map")).put("txt041", 40), "id 40 is used by both"),
                edit("vocabulary id out of range", c -> ((ObjectNode) c.get("vocabulary_map")).put("txt127", 500), "has id 500, outside the vocabulary of 128"),
                edit("bad image token name", c -> ((ObjectNode) ((ObjectNode) c.get("vocabulary_map")).without("txt126")).put("IMGIMGXZ", 126), "must spell its codebook index"),
                edit("vq codebook size differs", c -> ((ObjectNode) c.get("vq_config")).put("num_embeddings", 64), "vq_config.num_embeddings"),
                edit("vq resolution", c -> ((ObjectNode) c.get("vq_config")).put("resolution", 30), "field 'vq_config.resolution'"),
                edit("eos outside vocab", c -> c.put("eos_token_id", 4000), "field 'eos_token_id' (4000) is outside"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenConfigs")
    void brokenConfigFailsNamingTheField(String name, Consumer<ObjectNode> change, String expected) throws IOException {
        ObjectNode c = fixtureConfig();
        change.accept(c);
        Path f = dir.resolve("config.json");
        JSON.writeValue(f.toFile(), c);
        assertThatThrownBy(() -> ModelConfig.read(f)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining(expected);
    }

    @Test
    void configThatIsNotJsonIsNamed() throws IOException {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{ hidden_size: ");
        assertThatThrownBy(() -> ModelConfig.read(f)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("not well-formed JSON");
    }

    @Test
    void fixtureVocabularyMapsImageTokensToCodebookIndices() {
        ModelConfig c = ModelConfig.read(Fixtures.path("chameleon/model/config.json"));
        JsonNode golden = Fixtures.json("chameleon/golden.json").get("vocab_mapping");
        VocabularyMap v = c.vocabulary().orElseThrow();
        int[] expected = Fixtures.ints(golden.get("codebook_index_to_bpe_id"));
        for (int code = 0; code < expected.length; code++) {
            assertThat(v.bpeIdOfCode(code)).isEqualTo(expected[code]);
            assertThat(v.codeOfBpeId(expected[code])).isEqualTo(code);
        }
        assertThat(v.imageTokenIds()).containsExactly(Fixtures.ints(golden.get("image_tokens_sorted_bpe_ids")));
        JsonNode special = Fixtures.json("chameleon/golden.json").get("special_ids");
        assertThat(v.beginOfImage()).isEqualTo(special.get("boi").asInt());
        assertThat(v.endOfImage()).isEqualTo(special.get("eoi").asInt());
        assertThat(v.imagePlaceholder()).isEqualTo(special.get("image").asInt());
        assertThat(v.separator()).isEqualTo(special.get("sep").asInt());
        assertThat(c.vq().orElseThrow().tokensPerImage()).isEqualTo(64);
    }

    @Test
    void nonContiguousUnorderedImageIdsAreAccepted() {
        java.util.Map<String, Integer> map = new java.util.HashMap<>();
        map.put("IMGIMGAZ", 9);
        map.put("IMGIMGBZ", 3);
        map.put("IMGIMGCZ", 7);
        VocabularyMap v = VocabularyMap.of(map, 10, Path.of("config.json"));
        assertThat(v.bpeIdOfCode(0)).isEqualTo(9);
        assertThat(v.bpeIdOfCode(1)).isEqualTo(3);
        assertThat(v.imageTokenIds()).containsExactly(3, 7, 9);
        assertThatThrownBy(() -> v.bpeIdOfCode(3)).isInstanceOf(CheckpointException.class).hasMessageContaining("codebook index 3");
    }

    @Test
    void tensorOfTheWrongShapeIsNamed() throws IOException {
        ModelConfig c = ModelConfig.read(Fixtures.path("chameleon/model/config.json"));
        ObjectNode wider = fixtureConfig();
        wider.put("intermediate_size", 200);
        Path f = dir.resolve("config.json");
        JSON.writeValue(f.toFile(), wider);
        ModelConfig wrong = ModelConfig.read(f);
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(Fixtures.path("chameleon/model"))) {
            assertThat(DecoderWeights.from(ck, c).layers()).hasSize(2);
            assertThatThrownBy(() -> DecoderWeights.from(ck, wrong)).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("model.layers.0.mlp.gate_proj.weight").hasMessageContaining("expected shape [200, 64]");
        }
    }

    @Test
    void missingTensorIsNamedAndTheFolderStaysUsable() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("model"));
        Files.copy(Fixtures.path("chameleon/model/config.json"), folder.resolve("config.json"));
        Files.write(folder.resolve("model.safetensors"), dev.cm3leon.testing.SafetensorsBytes.file(
                "{" + dev.cm3leon.testing.SafetensorsBytes.f32Entry("model.norm.weight", new long[]{1}, 0, 4) + "}",
                dev.cm3leon.testing.SafetensorsBytes.f32(1)));
        assertThatThrownBy(() -> Cm3Leon.load(folder)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("missing tensor 'model.embed_tokens.weight'");
        // The process stays usable: a good checkpoint still loads afterwards.
        try (Cm3Leon ok = Cm3Leon.load(Fixtures.path("chameleon/model"))) {
            assertThat(ok.config().numLayers()).isEqualTo(2);
        }
    }
}
