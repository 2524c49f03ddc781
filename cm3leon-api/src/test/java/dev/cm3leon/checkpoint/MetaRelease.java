package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.testing.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.AbstractMap;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The chameleon fixture model written the way Meta releases a model, by the inverse of HF's converter
 * ({@code convert_chameleon_weights_to_hf.py}): Meta's tensor names, query and key rows in RoPE's interleaved-pair
 * order, one QK-norm vector per shard, matrices split across model-parallel shards, {@code params.json},
 * {@code consolidate_params.json} and {@code tokenizer/text_tokenizer.json}.
 *
 * <p>HF's QK-norm is per head while Meta's is per shard, so the mapping is exact only for a model whose heads of a
 * shard share one norm: {@link #withQkNormPerShard} makes that variant of the HF weights, the reference to compare
 * against.
 */
public final class MetaRelease {
    public static final Path HF_FIXTURE = Fixtures.path("chameleon/model");
    public static final String MODEL_DIR = "models/7b";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tensor as f32 values, row-major. */
    public record Array(long[] shape, float[] data) {
        int rows() {
            return (int) shape[0];
        }

        int cols() {
            return shape.length == 1 ? 1 : (int) shape[1];
        }

        Array rowRange(int from, int to) {
            float[] out = new float[(to - from) * cols()];
            System.arraycopy(data, from * cols(), out, 0, out.length);
            return new Array(shape.length == 1 ? new long[]{to - from} : new long[]{to - from, cols()}, out);
        }

        Array columnRange(int from, int to) {
            int w = to - from;
            float[] out = new float[rows() * w];
            for (int r = 0; r < rows(); r++) System.arraycopy(data, r * cols() + from, out, r * w, w);
            return new Array(new long[]{rows(), w}, out);
        }

        Map.Entry<long[], float[]> entry() {
            return new AbstractMap.SimpleEntry<>(shape, data);
        }
    }

    private MetaRelease() {
    }

    public static ModelConfig fixtureConfig() {
        return ModelConfig.read(HF_FIXTURE.resolve("config.json"));
    }

    /** The fixture's decoder tensors under HF's names (the VQ encoder's are left out, as Meta keeps them apart). */
    public static Map<String, Array> fixtureTensors() {
        Map<String, Array> out = new LinkedHashMap<>();
        try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(HF_FIXTURE)) {
            ck.tensors().values().stream().filter(t -> !t.name().startsWith("model.vqmodel."))
                    .forEach(t -> out.put(t.name(), new Array(t.shape(), t.toFloatArray())));
        }
        return out;
    }

    /** The HF weights with each shard's heads sharing the QK-norm of the shard's first head. */
    public static Map<String, Array> withQkNormPerShard(Map<String, Array> hf, int shards) {
        Map<String, Array> out = new LinkedHashMap<>(hf);
        hf.forEach((name, a) -> {
            if (!name.contains("_norm.") || !name.contains("self_attn")) return;
            int heads = a.rows(), perShard = heads / shards, hd = a.cols();
            float[] v = new float[a.data.length];
            for (int h = 0; h < heads; h++) System.arraycopy(a.data, h / perShard * perShard * hd, v, h * hd, hd);
            out.put(name, new Array(a.shape, v));
        });
        return out;
    }

    /** An HF folder with the fixture's config files and these tensors (the VQ encoder copied from the fixture). */
    public static Path writeHf(Path dir, Map<String, Array> hf) {
        try {
            Files.createDirectories(dir);
            for (String f : List.of("config.json", "generation_config.json", "preprocessor_config.json")) {
                Files.copy(HF_FIXTURE.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            Map<String, Array> all = new LinkedHashMap<>(hf);
            try (SafetensorsCheckpoint ck = SafetensorsCheckpoint.open(HF_FIXTURE)) {
                ck.tensors().values().stream().filter(t -> t.name().startsWith("model.vqmodel."))
                        .forEach(t -> all.put(t.name(), new Array(t.shape(), t.toFloatArray())));
            }
            SafetensorsWriter.write(dir.resolve(SafetensorsCheckpoint.SINGLE_FILE), rows(all), DType.F32);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A Lumina-mGPT folder of these tensors: {@code config.json} naming {@code ChameleonXLLMXForConditionalGeneration}
     * with {@code model_parallel_size} {@code shards} and its training-only fields, and each QK-norm stored as Lumina
     * does, {@code [shards, head_dim]}: the row of each shard's first head (exact for weights whose shards' heads share
     * their norm, {@link #withQkNormPerShard}).
     */
    public static Path writeLumina(Path dir, Map<String, Array> hf, int shards) {
        Map<String, Array> lumina = new LinkedHashMap<>(hf);
        hf.forEach((name, a) -> {
            if (!name.contains("_norm.") || !name.contains("self_attn")) return;
            int perShard = a.rows() / shards, hd = a.cols();
            float[] v = new float[shards * hd];
            for (int s = 0; s < shards; s++) System.arraycopy(a.data, s * perShard * hd, v, s * hd, hd);
            lumina.put(name, new Array(new long[]{shards, hd}, v));
        });
        writeHf(dir, lumina);
        editConfig(dir, c -> {
            c.putArray("architectures").add(CheckpointFolder.LUMINA_ARCHITECTURE);
            c.put("model_parallel_size", shards).put("z_loss_weight", 1e-5);
            return c;
        });
        return dir;
    }

    /** Rewrites {@code dir/config.json} through {@code edit}. */
    public static void editConfig(Path dir, UnaryOperator<ObjectNode> edit) {
        try {
            Path file = dir.resolve("config.json");
            ObjectNode c = (ObjectNode) JSON.readTree(file.toFile());
            JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), edit.apply(c));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static RowSource rows(Map<String, Array> tensors) {
        return new RowSource() {
            public List<String> names() {
                return List.copyOf(tensors.keySet());
            }

            public long[] shape(String name) {
                return tensors.get(name).shape.clone();
            }

            public void row(String name, long r, float[] dst) {
                Array a = tensors.get(name);
                int len = RowSource.rowLength(a.shape);
                System.arraycopy(a.data, (int) r * len, dst, 0, len);
            }
        };
    }

    /**
     * Writes the release under {@code root}: {@code models/7b/} with the weights split into {@code shards} files and
     * the params files, {@code tokenizer/} with the text tokenizer and Meta's VQ-GAN files.
     */
    public static Path writeMeta(Path root, Map<String, Array> hf, int shards) {
        ModelConfig c = fixtureConfig();
        Path model = root.resolve(MODEL_DIR), tokenizer = root.resolve("tokenizer");
        try {
            Files.createDirectories(model);
            Files.createDirectories(tokenizer);
            for (int s = 0; s < shards; s++) {
                String file = shards == 1 ? MetaCheckpoint.SINGLE_FILE : String.format("consolidated.%02d.pth", s);
                TorchArchives.writeTensors(model.resolve(file), shard(hf, c, s, shards));
            }
            ObjectNode params = JSON.createObjectNode();
            params.put("seed", 1).put("optim", "adamw");          // training settings, ignored
            params.putObject("model").put("dim", c.hiddenSize()).put("n_layers", c.numLayers()).put("n_heads", c.numHeads())
                    .put("n_kv_heads", c.numKvHeads()).put("vocab_size", c.vocabSize()).put("multiple_of", 4)
                    .put("ffn_dim_multiplier", 1.0).put("norm_eps", c.rmsNormEps()).put("rope_theta", c.ropeTheta())
                    .put("qk_normalization", true).put("swin_norm", false).put("max_seq_len", c.maxPositions());
            JSON.writeValue(model.resolve(MetaParams.PARAMS).toFile(), params);
            JSON.writeValue(model.resolve(MetaParams.CONSOLIDATE_PARAMS).toFile(),
                    JSON.createObjectNode().put("model_parallel_size", shards));
            writeTokenizer(tokenizer.resolve(CheckpointFolder.META_TOKENIZER), c.vocabulary().orElseThrow().tokens(), true);
            Files.copy(Fixtures.path("vqgan/vqgan.yaml"), tokenizer.resolve("vqgan.yaml"));
            Files.copy(Fixtures.path("vqgan/vqgan.ckpt"), tokenizer.resolve("vqgan.ckpt"));
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Meta's tensors of shard {@code s}: the inverse of HF's converter. */
    private static Map<String, Map.Entry<long[], float[]>> shard(Map<String, Array> hf, ModelConfig c, int s, int n) {
        Map<String, Map.Entry<long[], float[]>> out = new LinkedHashMap<>();
        int d = c.hiddenSize(), hd = c.headDim(), ff = c.intermediateSize(), v = c.vocabSize();
        int q = c.numHeads() * hd / n, kv = c.numKvHeads() * hd / n;
        out.put("tok_embeddings.weight", hf.get("model.embed_tokens.weight").columnRange(s * d / n, (s + 1) * d / n).entry());
        out.put("norm.weight", hf.get("model.norm.weight").entry());
        out.put("output.weight", hf.get("lm_head.weight").rowRange(s * v / n, (s + 1) * v / n).entry());
        out.put("rope.freqs", new Array(new long[]{hd / 2}, new float[hd / 2]).entry());     // Meta saves it; unused
        for (int i = 0; i < c.numLayers(); i++) {
            String h = "model.layers." + i + ".", m = "layers." + i + ".";
            out.put(m + "attention.wq.weight", interleaved(hf.get(h + "self_attn.q_proj.weight"), hd).rowRange(s * q, (s + 1) * q).entry());
            out.put(m + "attention.wk.weight", interleaved(hf.get(h + "self_attn.k_proj.weight"), hd).rowRange(s * kv, (s + 1) * kv).entry());
            out.put(m + "attention.wv.weight", hf.get(h + "self_attn.v_proj.weight").rowRange(s * kv, (s + 1) * kv).entry());
            out.put(m + "attention.wo.weight", hf.get(h + "self_attn.o_proj.weight").columnRange(s * q, (s + 1) * q).entry());
            out.put(m + "feed_forward.w1.weight", hf.get(h + "mlp.gate_proj.weight").rowRange(s * ff / n, (s + 1) * ff / n).entry());
            out.put(m + "feed_forward.w3.weight", hf.get(h + "mlp.up_proj.weight").rowRange(s * ff / n, (s + 1) * ff / n).entry());
            out.put(m + "feed_forward.w2.weight", hf.get(h + "mlp.down_proj.weight").columnRange(s * ff / n, (s + 1) * ff / n).entry());
            out.put(m + "attention_norm.weight", hf.get(h + "input_layernorm.weight").entry());
            out.put(m + "ffn_norm.weight", hf.get(h + "post_attention_layernorm.weight").entry());
            for (String norm : List.of("q_norm.weight", "q_norm.bias", "k_norm.weight", "k_norm.bias")) {
                Array perHead = hf.get(h + "self_attn." + norm);
                int head = s * perHead.rows() / n;      // the shard's first head; its others share the norm
                float[] vector = interleaved(perHead.rowRange(head, head + 1).data, hd);
                out.put(m + "attention." + norm.replace("_norm", "_normalization"), new Array(new long[]{hd}, vector).entry());
            }
        }
        return out;
    }

    /** HF's rotate-half order back to Meta's pairs: Meta's element 2i+j of a head is HF's element j·hd/2 + i. */
    static float[] interleaved(float[] head, int hd) {
        float[] out = new float[hd];
        for (int i = 0; i < hd / 2; i++) {
            for (int j = 0; j < 2; j++) out[2 * i + j] = head[j * hd / 2 + i];
        }
        return out;
    }

    /** The rows of each head of a [heads·hd, d] projection in Meta's pair order. */
    static Array interleaved(Array projection, int hd) {
        int cols = projection.cols();
        float[] out = new float[projection.data.length];
        for (int head = 0; head < projection.rows() / hd; head++) {
            for (int i = 0; i < hd / 2; i++) {
                for (int j = 0; j < 2; j++) {
                    System.arraycopy(projection.data, (head * hd + j * hd / 2 + i) * cols, out, (head * hd + 2 * i + j) * cols, cols);
                }
            }
        }
        return new Array(projection.shape, out);
    }

    /** A tokenizer.json over {@code vocabularyMap}, special tokens added; Meta's spelling of the placeholder when asked. */
    static void writeTokenizer(Path file, Map<String, Integer> vocabularyMap, boolean metaPlaceholder) throws IOException {
        ObjectNode root = JSON.createObjectNode().put("version", "1.0");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = JSON.createObjectNode();
        vocabularyMap.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> {
            // Meta's file names the image placeholder <reserved08707>; HF's converter renames it.
            String token = metaPlaceholder && e.getKey().equals(VocabularyMap.IMAGE_PLACEHOLDER)
                    ? TokenizerVocabulary.META_IMAGE_PLACEHOLDER : e.getKey();
            vocab.put(token, e.getValue());
            if (token.startsWith("<")) {
                added.addObject().put("id", e.getValue()).put("content", token).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
            }
        });
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE").set("vocab", vocab);
        model.putArray("merges");
        JSON.writeValue(file.toFile(), root);
    }

    /** A copy of {@code release} with {@code edit} applied to the tensors of shard file {@code file}. */
    static void rewriteShard(Path release, String file, UnaryOperator<Map<String, Map.Entry<long[], float[]>>> edit) {
        Path shard = release.resolve(MODEL_DIR).resolve(file);
        Map<String, Map.Entry<long[], float[]>> tensors = new LinkedHashMap<>();
        try (TorchCheckpoint ck = TorchCheckpoint.open(shard)) {
            ck.tensors().values().forEach(t -> tensors.put(t.name(), new AbstractMap.SimpleEntry<>(t.shape(), t.toFloatArray())));
        }
        TorchArchives.writeTensors(shard, edit.apply(tensors));
    }

    static void copyTree(Path from, Path to) {
        try (var s = Files.walk(from)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
