package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Config details real checkpoints carry: RoPE settings in transformers v5's {@code rope_parameters}, special ids
 * that disagree with the tokenizer (the tokenizer wins, with a warning), lists of end ids, the turn-end token.
 */
class SpecialTokensTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final EngineOptions CPU = new EngineOptions("cpu", false);
    static final Path FIXTURE = Fixtures.path("chameleon/model");
    @TempDir
    Path dir;

    /** The fixture folder with its config edited (weights linked, not copied). */
    Path folder(Consumer<ObjectNode> config) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(FIXTURE.resolve("config.json").toFile());
        config.accept(c);
        JSON.writeValue(dir.resolve("config.json").toFile(), c);
        Files.createSymbolicLink(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), FIXTURE.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        return dir;
    }

    void tokenizer(Map<String, Integer> tokens) throws IOException {
        MetaRelease.writeTokenizer(dir.resolve(CheckpointFolder.HF_TOKENIZER), tokens, false);
    }

    static Map<String, Integer> fixtureVocabulary() {
        return MetaRelease.fixtureConfig().vocabulary().orElseThrow().tokens();
    }

    @Test
    void ropeThetaIsReadFromTransformersV5RopeParameters() throws IOException {
        Path f = folder(c -> {
            c.remove("rope_theta");
            c.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 500000.0);
        });
        assertThat(ModelConfig.read(f.resolve("config.json")).ropeTheta()).isEqualTo(500000.0);
    }

    @Test
    void anUnknownRopeTypeIsRefusedByName() throws IOException {
        Path f = folder(c -> c.putObject("rope_parameters").put("rope_type", "yarn").put("rope_theta", 10000.0).put("factor", 4.0));
        assertThatThrownBy(() -> ModelConfig.read(f.resolve("config.json"))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("field 'rope_parameters'").hasMessageContaining("'yarn'");
    }

    @Test
    void ropeThetaStatedTwiceDifferentlyIsRefused() throws IOException {
        Path f = folder(c -> c.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 20000.0));
        assertThatThrownBy(() -> ModelConfig.read(f.resolve("config.json"))).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("field 'rope_theta' (10000.0) differs from rope_parameters.rope_theta (20000.0)");
    }

    @Test
    void theTokenizersIdsWinOverHfDefaultsAndTheWarningNamesBoth() throws IOException {
        Path f = folder(c -> c.put("bos_token_id", 1));      // HF's default: <pad> in Chameleon's vocabulary
        tokenizer(fixtureVocabulary());
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThat(m.config().bosId()).isZero();
            assertThat(m.specialTokens().bos()).isZero();
            assertThat(m.specialTokens().warnings()).singleElement().asString()
                    .contains(f.resolve("config.json").toString()).contains("bos_token_id 1")
                    .contains(f.resolve("tokenizer.json").toString()).contains("<s> = 0");
        } finally {
            System.setErr(err);
        }
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("WARN").contains("bos_token_id 1").contains("<s> = 0");
    }

    @Test
    void everyEndIdOfAListStopsGenerationAndSoDoesTheTurnEndToken() throws IOException {
        Path f = folder(c -> c.putArray("eos_token_id").add(2).add(100));
        JSON.writeValue(dir.resolve("generation_config.json").toFile(), JSON.createObjectNode()
                .put("bos_token_id", 0).put("pad_token_id", 1).set("eos_token_id", JSON.createArrayNode().add(2).add(101)));
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThat(m.config().eosId()).isEqualTo(2);
            // 39 is <reserved08706>, the family's turn end.
            assertThat(m.specialTokens().stops()).containsExactlyInAnyOrder(2, 100, 101, 39);
            assertThat(m.specialTokens().warnings()).isEmpty();
        }
    }

    @Test
    void anEndIdTheTokenizerCallsPadIsNotAStop() throws IOException {
        Path f = folder(c -> c.put("eos_token_id", 1));
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThat(m.config().eosId()).isEqualTo(2);
            assertThat(m.specialTokens().stops()).containsExactlyInAnyOrder(2, 39);
            assertThat(m.specialTokens().warnings()).singleElement().asString().contains("eos_token_id 1").contains("</s> = 2");
        }
    }

    @Test
    void imageMarkersFollowTheTokenizerWhereVocabularyMapDisagrees() throws IOException {
        Path f = folder(c -> {
            ObjectNode vm = (ObjectNode) c.get("vocabulary_map");
            vm.put("<racm3:break>", 127);      // the tokenizer says 37
            vm.remove("txt127");
        });
        Map<String, Integer> tokens = new LinkedHashMap<>(fixtureVocabulary());
        tokenizer(tokens);
        try (Cm3Leon m = Cm3Leon.load(f, CPU)) {
            assertThat(m.config().vocabulary().orElseThrow().beginOfImage()).isEqualTo(37);
            assertThat(m.specialTokens().warnings()).singleElement().asString().contains("<racm3:break> id 127").contains("gives 37");
        }
    }

    @Test
    void modelsAssembledFromPartsStopAtEosAndTheTurnEnd() {
        assertThat(SpecialTokens.of(MetaRelease.fixtureConfig()).stops()).containsExactly(2, 39);
    }
}
