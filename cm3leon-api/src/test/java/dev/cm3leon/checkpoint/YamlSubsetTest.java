package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The YAML subset model configs use, and Meta's vqgan.yaml read into a {@link VqConfig}. */
class YamlSubsetTest {
    @TempDir
    Path tmp;

    /** The layout of Meta's released tokenizer config: block sequences, comments, unused sections. */
    static final String META_STYLE = """
            # image tokenizer
            model:
              base_learning_rate: 4.5e-06
              target: taming.models.vqgan.VQModel
              params:
                embed_dim: 256
                n_embed: 8192
                ddconfig:
                  double_z: false
                  z_channels: 256
                  resolution: 512
                  in_channels: 3
                  out_ch: 3
                  ch: 128
                  ch_mult:
                  - 1
                  - 1
                  - 2
                  - 2
                  - 4
                  num_res_blocks: 2
                  attn_resolutions: [ ]   # none: the middle block attends anyway
                  dropout: 0.0
                lossconfig:
                  target: "taming.modules.losses.vqperceptual.DummyLoss"
                  params: {disc_start: 250001, weights: [1.0, 0.5], name: 'it''s'}
            data:
              - name: train
                size: 512
              - name: validation
            """;

    @Test
    void readsNestedMappingsSequencesAndScalars() {
        JsonNode root = YamlSubset.parse(tmp.resolve("x.yaml"), META_STYLE);
        JsonNode dd = root.at("/model/params/ddconfig");
        assertThat(dd.get("ch_mult").toString()).isEqualTo("[1,1,2,2,4]");
        assertThat(dd.get("double_z").asBoolean(true)).isFalse();
        assertThat(dd.get("attn_resolutions").isArray()).isTrue();
        assertThat(root.at("/model/base_learning_rate").asDouble()).isEqualTo(4.5e-6);
        assertThat(root.at("/model/params/lossconfig/target").asText()).isEqualTo("taming.modules.losses.vqperceptual.DummyLoss");
        assertThat(root.at("/model/params/lossconfig/params/weights").toString()).isEqualTo("[1.0,0.5]");
        assertThat(root.at("/model/params/lossconfig/params/name").asText()).isEqualTo("it's");
        assertThat(root.at("/data/0/size").asInt()).isEqualTo(512);
        assertThat(root.at("/data/1/name").asText()).isEqualTo("validation");
    }

    @Test
    void readsMetasConfigIntoTheSameRecordAsHfs() throws IOException {
        VqConfig c = VqConfig.readMetaYaml(Files.writeString(tmp.resolve("vqgan.yaml"), META_STYLE));
        assertThat(c.channelMultiplier()).containsExactly(1, 1, 2, 2, 4);
        assertThat(c.baseChannels()).isEqualTo(128);
        assertThat(c.latentChannels()).isEqualTo(256);
        assertThat(c.numEmbeddings()).isEqualTo(8192);
        assertThat(c.gridSize()).isEqualTo(32);
        assertThat(c.tokensPerImage()).isEqualTo(1024);
    }

    @Test
    void refusesWhatItDoesNotUnderstandNamingTheLine() {
        Path f = tmp.resolve("bad.yaml");
        assertThatThrownBy(() -> YamlSubset.parse(f, "a: &anchor 1\n")).isInstanceOf(CheckpointException.class)
                .hasMessage(f + ": line 1: '&' (anchors, aliases, tags, block scalars) is not supported");
        assertThatThrownBy(() -> YamlSubset.parse(f, "a:\n\tb: 1\n")).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("line 2: tabs");
        assertThatThrownBy(() -> YamlSubset.parse(f, "a: 1\n  b: 2\n")).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("line 2: unexpected indentation");
        assertThatThrownBy(() -> YamlSubset.parse(f, "a: [1, 2\n")).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("line 1: unterminated '['");
        assertThatThrownBy(() -> YamlSubset.parse(f, "a: 1\na: 2\n")).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("line 2: duplicate key 'a'");
    }

    @Test
    void namesTheMissingField() throws IOException {
        Path f = Files.writeString(tmp.resolve("vqgan.yaml"), "model:\n  params:\n    embed_dim: 4\n    ddconfig:\n      ch: 32\n");
        assertThatThrownBy(() -> VqConfig.readMetaYaml(f)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("ch_mult");
    }
}
