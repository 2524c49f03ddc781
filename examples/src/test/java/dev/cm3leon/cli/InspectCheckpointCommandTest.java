package dev.cm3leon.cli;

import dev.cm3leon.checkpoint.MetaRelease;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code inspect checkpoint DIR} says what a folder was detected as, for each layout, run as a user runs it. */
class InspectCheckpointCommandTest {
    @TempDir
    Path tmp;

    @Test
    void anHfFolderIsDescribedWithItsMissingDecoderAndWhereItWasLookedFor() {
        Path hf = Fixtures.path("chameleon/model");
        CliRun r = CliRun.of("inspect", "checkpoint", hf.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("layout:       HF Chameleon (config.json + safetensors)")
                .contains("chameleon: 2 layers, hidden 64, intermediate 172, heads 4 (kv 2, head_dim 16), vocab 128, context 256")
                .contains("(rotate-half), qk-norm yes, swin_norm no")
                .contains("dtype:        float32 (tensors: {F32=")
                .contains("layer 0 self_attn.q_proj.weight [64, 64]").contains("lm_head.weight [128, 64]")
                .contains("128 tokens, 32 image tokens (ids 4…35), BOI 37, EOI 36, <image> 38")
                .contains("image layout: BOI + 8×8 = 64 codes + EOI (32×32 pixels, codebook 32)")
                .contains("vq decoder:   not found; to enable image output, put Meta's vqgan.yaml with vqgan.ckpt or vqgan.safetensors")
                .contains(hf + " or " + hf.resolve("tokenizer"))
                .contains("decoding:     images: temperature 0.7, top-p 0.9, 3-stream guidance image 1.2 / text 3.0; "
                        + "captions and questions: temperature 0.7, top-p 0.9, repetition penalty 1.2")
                .contains("special ids:  bos 0, eos 2, pad 1, stops [2, 39]");
    }

    @Test
    void metasReleaseIsDescribedAsMappedWithInterleavedRopeAndItsDecoder() {
        Path release = MetaRelease.writeMeta(tmp.resolve("chameleon"), MetaRelease.withQkNormPerShard(MetaRelease.fixtureTensors(), 1), 1);
        CliRun r = CliRun.of("inspect", "checkpoint", release.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("layout:       Meta's original release (params.json + consolidated.pth)")
                .contains("(weights in " + release.resolve(MetaRelease.MODEL_DIR) + ")")
                .contains("weights:      1 file(s) [consolidated.pth], memory-mapped")
                .contains("(interleaved pairs)")
                .contains("vq decoder:   found: " + release.resolve("tokenizer/vqgan.ckpt"))
                .contains("special ids:  bos 0, eos 2, pad 1, stops [2, 39]");
    }

    @Test
    void aLuminaFolderIsDescribedWithItsImageLayoutAndDecodingDefaults() {
        Path lumina = MetaRelease.writeLumina(tmp.resolve("lumina"), MetaRelease.withQkNormPerShard(MetaRelease.fixtureTensors(), 2), 2);
        CliRun r = CliRun.of("inspect", "checkpoint", lumina.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("layout:       Lumina-mGPT (config.json naming ChameleonXLLMXForConditionalGeneration + safetensors)")
                .contains("QK-norm stored per model-parallel shard, expanded over its heads")
                .contains("image layout: begin-of-image, height and width tokens (<reserved08800> + units of 32 px, at most 64), "
                        + "codes row by row each followed by <reserved08799>, end-of-image; default 768x768 px")
                .contains("decoding:     images: temperature 1.0, top-k 2000, guidance 4.0; captions and questions: temperature 1.0, top-k 10")
                .contains("(lumina templates, built in)");
    }

    @Test
    void modelParallelShardsAreSaidToBeJoined() {
        Path release = MetaRelease.writeMeta(tmp.resolve("chameleon-30b-style"), MetaRelease.withQkNormPerShard(MetaRelease.fixtureTensors(), 2), 2);
        CliRun r = CliRun.of("inspect", "checkpoint", release.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("2 file(s) [consolidated.00.pth, consolidated.01.pth], model-parallel shards joined into native memory");
    }

    @Test
    void theVqganOptionPointsAtMetasFiles() throws IOException {
        Path vq = Files.createDirectories(tmp.resolve("vqgan"));
        Files.copy(Fixtures.path("vqgan/vqgan.yaml"), vq.resolve("vqgan.yaml"));
        Files.copy(Fixtures.path("vqgan/vqgan.safetensors"), vq.resolve("vqgan.safetensors"));
        CliRun r = CliRun.of("inspect", "checkpoint", Fixtures.path("chameleon/model").toString(), "--vqgan", vq.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("vq decoder:   found: " + vq.resolve("vqgan.safetensors") + " with " + vq.resolve("vqgan.yaml"));
    }

    @Test
    void aFolderOfNoKnownLayoutEndsWithOneLineSayingWhatWasLookedFor() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        CliRun r = CliRun.of("inspect", "checkpoint", empty.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err().lines().filter(l -> l.startsWith("cm3leon: ")).toList()).singleElement().asString()
                .contains("matches no known checkpoint layout").contains("params.json");
    }
}
