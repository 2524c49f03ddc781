package dev.cm3leon.checkpoint;

import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.cpu.CpuEngine;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Models written as GGUF with llama.cpp's conventions (names, metadata, permuted query/key rows) and read back run
 * to the same logits as the HF checkpoint they came from.
 */
class GgufModelTest {
    @TempDir Path dir;

    @Test
    void chameleonFixtureAsGgufMatchesTheReferenceLogits() {
        Path gguf = dir.resolve("chameleon.gguf");
        Path folder = Fixtures.path("chameleon/model");
        ModelConfig hfConfig = ModelConfig.read(folder.resolve("config.json"));
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(folder)) {
            GgufExport.write(gguf, hfConfig, RowSource.of(ck), DType.F32, Map.of());
        }
        try (GgufModel m = GgufModel.open(gguf)) {
            ModelConfig c = m.config();
            assertThat(c.modelType()).isEqualTo("chameleon");
            assertThat(c.interleavedRope()).isTrue();
            assertThat(List.of(c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(), c.numKvHeads(), c.vocabSize(), c.maxPositions()))
                    .containsExactly(hfConfig.hiddenSize(), hfConfig.intermediateSize(), hfConfig.numLayers(), hfConfig.numHeads(),
                            hfConfig.numKvHeads(), hfConfig.vocabSize(), hfConfig.maxPositions());
            assertThat(c.qkNorm()).isTrue();
            assertThat(c.vocabulary().orElseThrow().imageTokenCount()).isEqualTo(hfConfig.vocabulary().orElseThrow().imageTokenCount());
            assertThat(m.file().string("general.architecture")).contains("chameleon");
            assertThat(m.file().tensors()).containsKeys("token_embd.weight", "blk.0.attn_q.weight", "blk.1.attn_k_norm.bias", "output.weight");

            var golden = Fixtures.json("chameleon/golden.json").get("forward").get("text");
            int[] ids = Fixtures.ints(golden.get("input_ids"));
            try (CpuEngine engine = new CpuEngine(DecoderWeights.from(m, c)); KvCache cache = engine.newCache(ids.length)) {
                float[] logits = engine.forward(List.of(new StreamStep(cache, ids, StreamStep.Logits.ALL)))[0];
                float[] expected = Fixtures.f32("chameleon", golden.get("logits_unsuppressed"));
                assertThat(Fixtures.maxAbsDiff(logits, expected)).isLessThanOrEqualTo(1e-4);
            }
        }
    }

    @Test
    void llamaModelWithGroupedQueriesRunsTheSameFromGgufAndSafetensors() {
        SyntheticModel model = SyntheticModel.of(new SyntheticModel.Shape("t", "llama", 64, 96, 2, 4, 2, 300, 64, true), 7);
        Path folder = model.writeSafetensors(dir.resolve("hf"), DType.F32);
        Path gguf = model.writeGguf(dir.resolve("llama.gguf"), DType.F32);
        int[] ids = {0, 5, 77, 3, 299, 12, 12, 40, 8, 1};
        float[] fromHf, fromGguf;
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(folder)) {
            fromHf = run(DecoderWeights.from(ck, ModelConfig.read(folder.resolve("config.json"))), ids);
        }
        try (GgufModel m = GgufModel.open(gguf)) {
            assertThat(m.config().tieWordEmbeddings()).isTrue();
            assertThat(m.config().numKvHeads()).isEqualTo(2);
            assertThat(m.file().tensors()).doesNotContainKey("output.weight");
            assertThat(m.file().metadata().get("tokenizer.ggml.model")).isEqualTo("gpt2");
            fromGguf = run(DecoderWeights.from(m, m.config()), ids);
        }
        assertThat(Fixtures.maxAbsDiff(fromGguf, fromHf)).isLessThanOrEqualTo(1e-4);
    }

    @Test
    void quantizedGgufTensorsAreReadAsStored() {
        SyntheticModel model = SyntheticModel.of(new SyntheticModel.Shape("t", "chameleon", 64, 96, 1, 2, 2, 128, 32, false), 3);
        Path q8 = model.writeGguf(dir.resolve("q8.gguf"), DType.Q8_0);
        Path q4 = model.writeGguf(dir.resolve("q4.gguf"), DType.Q4_0);
        try (GgufModel a = GgufModel.open(q8); GgufModel b = GgufModel.open(q4)) {
            assertThat(a.require("model.layers.0.mlp.up_proj.weight").dtype()).isEqualTo(DType.Q8_0);
            assertThat(b.require("lm_head.weight").dtype()).isEqualTo(DType.Q4_0);
            assertThat(a.require("model.norm.weight").dtype()).isEqualTo(DType.F32);
            int[] ids = {0, 5, 77, 3};
            float[] la = run(DecoderWeights.from(a, a.config()), ids), lb = run(DecoderWeights.from(b, b.config()), ids);
            assertThat(la).hasSize(ids.length * 128).doesNotContain(Float.NaN);
            assertThat(lb).hasSize(ids.length * 128).doesNotContain(Float.NaN);
        }
    }

    private static float[] run(DecoderWeights w, int[] ids) {
        try (CpuEngine engine = new CpuEngine(w); KvCache cache = engine.newCache(ids.length)) {
            return engine.forward(List.of(new StreamStep(cache, ids, StreamStep.Logits.ALL)))[0];
        }
    }
}
