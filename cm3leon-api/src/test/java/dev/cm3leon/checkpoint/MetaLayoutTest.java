package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Meta's original release layout (params.json + consolidated.pth, interleaved RoPE rows, per-shard QK-norm) loads as
 * the same model as its HF conversion: built from the fixture by the inverse of HF's converter.
 */
class MetaLayoutTest {
    static final EngineOptions CPU = new EngineOptions("cpu", false);

    @TempDir
    static Path tmp;
    static Path hfShared, metaSingle, hfPerShard, metaTwoShards;
    static int[] tokens, prompt;

    @BeforeAll
    static void writeReleases() {
        Map<String, MetaRelease.Array> hf = MetaRelease.fixtureTensors();
        Map<String, MetaRelease.Array> shared = MetaRelease.withQkNormPerShard(hf, 1);
        hfShared = MetaRelease.writeHf(tmp.resolve("hf-shared"), shared);
        metaSingle = MetaRelease.writeMeta(tmp.resolve("meta"), shared, 1);
        Map<String, MetaRelease.Array> perShard = MetaRelease.withQkNormPerShard(hf, 2);
        hfPerShard = MetaRelease.writeHf(tmp.resolve("hf-per-shard"), perShard);
        metaTwoShards = MetaRelease.writeMeta(tmp.resolve("meta-2"), perShard, 2);
        JsonNode forward = Fixtures.json("chameleon/golden.json").get("forward");
        tokens = Fixtures.ints(forward.get("mixed_ids").get("input_ids"));
        prompt = Fixtures.ints(Fixtures.json("chameleon/golden.json").get("generate").get("cases").get("text").get("prompt_ids"));
    }

    static float[] logits(Path folder) {
        try (Cm3Leon m = Cm3Leon.load(folder, CPU)) {
            return m.logits(tokens);
        }
    }

    static int[] greedy(Path folder) {
        try (Cm3Leon m = Cm3Leon.load(folder, CPU)) {
            return m.generateGreedy(prompt, 16);
        }
    }

    @Test
    void theReleaseGivesTheLogitsOfItsHfConversion() {
        float[] expected = logits(hfShared), actual = logits(metaSingle);
        assertThat(Fixtures.maxAbsDiff(actual, expected)).isLessThanOrEqualTo(1e-4);
    }

    @Test
    void theReleaseDecodesTheSameGreedyIds() {
        assertThat(greedy(metaSingle)).containsExactly(greedy(hfShared));
    }

    @Test
    void modelParallelShardsJoinToTheLogitsOfTheirHfConversion() {
        float[] expected = logits(hfPerShard), actual = logits(metaTwoShards);
        assertThat(Fixtures.maxAbsDiff(actual, expected)).isLessThanOrEqualTo(1e-4);
        assertThat(greedy(metaTwoShards)).containsExactly(greedy(hfPerShard));
    }

    @Test
    void theLayoutIsDetectedFromTheRootOrTheModelFolder() {
        CheckpointFolder root = CheckpointFolder.detect(metaSingle);
        CheckpointFolder model = CheckpointFolder.detect(metaSingle.resolve(MetaRelease.MODEL_DIR));
        assertThat(root.layout()).isEqualTo(CheckpointFolder.Layout.META);
        assertThat(model.layout()).isEqualTo(CheckpointFolder.Layout.META);
        assertThat(root.modelDir()).isEqualTo(metaSingle.resolve(MetaRelease.MODEL_DIR));
        assertThat(model.tokenizer()).contains(metaSingle.resolve("tokenizer/text_tokenizer.json").toAbsolutePath().normalize());
        assertThat(CheckpointFolder.detect(hfShared).layout()).isEqualTo(CheckpointFolder.Layout.HF);
        // Not bit-equal: the JIT's vectorised and scalar loops round differently while the engine warms up.
        assertThat(Fixtures.maxAbsDiff(logits(metaSingle.resolve(MetaRelease.MODEL_DIR)), logits(metaSingle))).isLessThanOrEqualTo(1e-5);
    }

    @Test
    void aSingleFileReleaseStaysMappedAndItsConfigComesFromParamsAndTokenizer() {
        try (Cm3Leon m = Cm3Leon.load(metaSingle, CPU)) {
            ModelConfig c = m.config(), hf = MetaRelease.fixtureConfig();
            assertThat(c.interleavedRope()).isTrue();
            assertThat(c.intermediateSize()).isEqualTo(hf.intermediateSize());
            assertThat(c.numKvHeads()).isEqualTo(hf.numKvHeads());
            assertThat(c.vocabulary().orElseThrow().tokens()).isEqualTo(hf.vocabulary().orElseThrow().tokens());
            assertThat(c.vocabulary().orElseThrow().imagePlaceholder()).isEqualTo(38);
            assertThat(c.vq()).isEqualTo(hf.vq());
            assertThat(m.tokenizer()).isPresent();
            Tensor q = m.checkpoint().require("model.layers.0.self_attn.q_proj.weight");
            assertThat(q.data().isNative()).isTrue();
            assertThat(((MetaCheckpoint) m.checkpoint()).joined()).isFalse();
            assertThat(m.checkpoint().tensors()).doesNotContainKey("rope.freqs");
            assertThat(m.vqGanFiles().weights()).contains(metaSingle.resolve("tokenizer/vqgan.ckpt"));
            assertThat(m.vq().orElseThrow().canDecode()).isTrue();
        }
    }

    // ---- malformed releases ------------------------------------------------------------------------------------

    static Path copy(String name) {
        Path to = tmp.resolve(name);
        MetaRelease.copyTree(metaSingle, to);
        return to;
    }

    @Test
    void aMissingParamsFileIsNamed() throws IOException {
        Path r = copy("no-params");
        Files.delete(r.resolve(MetaRelease.MODEL_DIR).resolve(MetaParams.PARAMS));
        assertThatThrownBy(() -> Cm3Leon.load(r, CPU)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(r.resolve(MetaRelease.MODEL_DIR).resolve(MetaParams.PARAMS).toString())
                .hasMessageContaining("is missing");
    }

    @Test
    void aShardCountThatDisagreesWithModelParallelSizeIsNamed() throws IOException {
        Path r = copy("mp-mismatch");
        Path model = r.resolve(MetaRelease.MODEL_DIR);
        Files.writeString(model.resolve(MetaParams.CONSOLIDATE_PARAMS), "{\"model_parallel_size\": 2}");
        Files.move(model.resolve(MetaCheckpoint.SINGLE_FILE), model.resolve("consolidated.00.pth"));
        assertThatThrownBy(() -> Cm3Leon.load(r, CPU)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(model.resolve(MetaParams.CONSOLIDATE_PARAMS).toString())
                .hasMessageContaining("'model_parallel_size' (2)")
                .hasMessageContaining("consolidated.01.pth")
                .hasMessageContaining("[consolidated.00.pth]");
    }

    @Test
    void aMissingTensorIsNamedWithItsFile() {
        Path r = copy("missing-tensor");
        MetaRelease.rewriteShard(r, MetaCheckpoint.SINGLE_FILE, t -> {
            t.remove("layers.1.feed_forward.w2.weight");
            return t;
        });
        assertThatThrownBy(() -> Cm3Leon.load(r, CPU)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(r.resolve(MetaRelease.MODEL_DIR).resolve(MetaCheckpoint.SINGLE_FILE).toString())
                .hasMessageContaining("missing tensor 'layers.1.feed_forward.w2.weight'");
    }

    @Test
    void aPerHeadQkNormIsRefusedWithTheShapeMetaUses() {
        Path r = copy("per-head-norm");
        MetaRelease.rewriteShard(r, MetaCheckpoint.SINGLE_FILE, t -> {
            t.put("layers.0.attention.q_normalization.weight", Map.entry(new long[]{4, 16}, new float[64]));
            return t;
        });
        assertThatThrownBy(() -> Cm3Leon.load(r, CPU)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(MetaCheckpoint.SINGLE_FILE)
                .hasMessageContaining("'layers.0.attention.q_normalization.weight': expected shape [16]")
                .hasMessageContaining("found [4, 16]");
    }

    @Test
    void aFieldOfParamsOutOfRangeIsNamed() throws IOException {
        Path r = copy("bad-params");
        Path params = r.resolve(MetaRelease.MODEL_DIR).resolve(MetaParams.PARAMS);
        Files.writeString(params, Files.readString(params).replace("\"n_heads\":4", "\"n_heads\":3"));
        assertThatThrownBy(() -> Cm3Leon.load(r, CPU)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(params.toString()).hasMessageContaining("'model.n_heads'");
    }

    @Test
    void aFolderOfNoKnownLayoutListsWhatWasLookedFor() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertThatThrownBy(() -> Cm3Leon.load(empty, CPU)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining(empty.toString())
                .hasMessageContaining("config.json with model.safetensors or model.safetensors.index.json")
                .hasMessageContaining("params.json or consolidated.pth");
    }

    @Test
    void aReleaseWithoutItsTextTokenizerSaysWhereItLooked() throws IOException {
        Path r = copy("no-tokenizer");
        Files.delete(r.resolve("tokenizer/text_tokenizer.json"));
        assertThatThrownBy(() -> Cm3Leon.load(r, CPU)).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("tokenizer/text_tokenizer.json")
                .hasMessageContaining(r.resolve("tokenizer").toString());
    }
}
