package dev.cm3leon.checkpoint;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF file of a Llama or Chameleon model (architectures as llama.cpp names them) seen as an HF checkpoint: its
 * tensors under HF names and a {@link ModelConfig} built from the {@code {arch}.*} metadata, so the same engine runs
 * it. llama.cpp's converter permutes the query and key rows of each head (and Chameleon's QK-norm weights) so that
 * RoPE rotates adjacent pairs; the config says so ({@link ModelConfig#interleavedRope}) instead of the rows being
 * permuted back, which keeps the tensors views of the mapped file.
 */
public final class GgufModel implements TensorSource {
    /** Per-layer tensor names: HF suffix ↔ llama.cpp suffix. */
    private static final String[][] LAYER_NAMES = {
            {"self_attn.q_proj.weight", "attn_q.weight"},
            {"self_attn.k_proj.weight", "attn_k.weight"},
            {"self_attn.v_proj.weight", "attn_v.weight"},
            {"self_attn.o_proj.weight", "attn_output.weight"},
            {"self_attn.q_norm.weight", "attn_q_norm.weight"},
            {"self_attn.q_norm.bias", "attn_q_norm.bias"},
            {"self_attn.k_norm.weight", "attn_k_norm.weight"},
            {"self_attn.k_norm.bias", "attn_k_norm.bias"},
            {"mlp.gate_proj.weight", "ffn_gate.weight"},
            {"mlp.up_proj.weight", "ffn_up.weight"},
            {"mlp.down_proj.weight", "ffn_down.weight"},
            {"input_layernorm.weight", "attn_norm.weight"},
            {"post_attention_layernorm.weight", "ffn_norm.weight"},
    };
    private static final String[][] GLOBAL_NAMES = {
            {"model.embed_tokens.weight", "token_embd.weight"},
            {"model.norm.weight", "output_norm.weight"},
            {"lm_head.weight", "output.weight"},
    };

    private final GgufFile file;
    private final ModelConfig config;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> ggufNames;

    private GgufModel(GgufFile file, ModelConfig config, Map<String, Tensor> tensors, Map<String, String> ggufNames) {
        this.file = file;
        this.config = config;
        this.tensors = tensors;
        this.ggufNames = ggufNames;
    }

    /** Maps the file (reading only its header) and builds the config. */
    public static GgufModel open(Path path) {
        GgufFile file = GgufFile.open(path);
        try {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Map<String, String> names = new LinkedHashMap<>();
            List<String> all = new ArrayList<>(file.tensors().keySet());
            all.addAll(file.unsupported().keySet());
            for (String g : all) {
                String hf = hfName(g);
                if (hf == null) continue;
                names.put(hf, g);
                file.find(g).ifPresent(t -> tensors.put(hf, new Tensor(hf, t.dtype(), t.shape(), t.data())));
            }
            if (file.tensors().containsKey("rope_freqs.weight")) {
                throw CheckpointException.of(path, "has rope_freqs (scaled RoPE), which is not supported");
            }
            ModelConfig config = config(file, tensors);
            return new GgufModel(file, config, Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(names));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    /** The HF name of a llama.cpp tensor name, or null for tensors the decoder does not use. */
    static String hfName(String gguf) {
        for (String[] n : GLOBAL_NAMES) if (n[1].equals(gguf)) return n[0];
        if (!gguf.startsWith("blk.")) return null;
        int dot = gguf.indexOf('.', 4);
        if (dot < 0) return null;
        String layer = gguf.substring(4, dot), rest = gguf.substring(dot + 1);
        if (!layer.chars().allMatch(Character::isDigit) || layer.isEmpty()) return null;
        for (String[] n : LAYER_NAMES) if (n[1].equals(rest)) return "model.layers." + Integer.parseInt(layer) + "." + n[0];
        return null;
    }

    /** The llama.cpp name of an HF tensor name, or null. */
    static String ggufName(String hf) {
        for (String[] n : GLOBAL_NAMES) if (n[0].equals(hf)) return n[1];
        if (!hf.startsWith("model.layers.")) return null;
        int dot = hf.indexOf('.', 13);
        if (dot < 0) return null;
        String layer = hf.substring(13, dot), rest = hf.substring(dot + 1);
        for (String[] n : LAYER_NAMES) if (n[0].equals(rest)) return "blk." + layer + "." + n[1];
        return null;
    }

    private static ModelConfig config(GgufFile f, Map<String, Tensor> tensors) {
        Path path = f.path();
        String arch = f.string("general.architecture").orElseThrow(() -> CheckpointException.of(path, "metadata 'general.architecture' is missing"));
        if (!arch.equals("llama") && !arch.equals("chameleon")) {
            throw CheckpointException.of(path, "architecture '" + arch + "' is not supported (llama, chameleon)");
        }
        int hidden = positive(f, arch + ".embedding_length");
        int heads = positive(f, arch + ".attention.head_count");
        int kvHeads = f.integer(arch + ".attention.head_count_kv").map(Long::intValue).orElse(heads);
        if (hidden % heads != 0 || kvHeads < 1 || heads % kvHeads != 0) {
            throw CheckpointException.of(path, "head counts " + heads + "/" + kvHeads + " do not divide the width " + hidden);
        }
        int headDim = hidden / heads;
        long ropeDims = f.integer(arch + ".rope.dimension_count").orElse((long) headDim);
        if (ropeDims != headDim || headDim % 2 != 0) {
            throw CheckpointException.of(path, "RoPE over " + ropeDims + " of " + headDim + " head dimensions is not supported");
        }
        Tensor embed = tensors.get("model.embed_tokens.weight");
        if (embed == null) throw CheckpointException.of(path, "tensor 'token_embd.weight' is missing or of an unsupported type");
        int vocab = Math.toIntExact(embed.dim(0));
        boolean chameleon = arch.equals("chameleon");
        Optional<VocabularyMap> vocabulary = Optional.empty();
        if (chameleon && f.metadata().get("tokenizer.ggml.tokens") instanceof List<?> tokens) {
            Map<String, Integer> map = new LinkedHashMap<>();
            for (int i = 0; i < tokens.size() && i < vocab; i++) map.putIfAbsent(String.valueOf(tokens.get(i)), i);
            vocabulary = Optional.of(VocabularyMap.of(map, vocab, path));
        }
        int bos = f.integer("tokenizer.ggml.bos_token_id").map(Long::intValue).orElse(0);
        int eos = f.integer("tokenizer.ggml.eos_token_id").map(Long::intValue).orElse(Math.min(2, vocab - 1));
        int pad = f.integer("tokenizer.ggml.padding_token_id").map(Long::intValue).orElse(Math.min(1, vocab - 1));
        for (int id : new int[]{bos, eos, pad}) {
            if (id < 0 || id >= vocab) throw CheckpointException.of(path, "special token id " + id + " is outside the vocabulary of " + vocab);
        }
        return new ModelConfig(arch, hidden, positive(f, arch + ".feed_forward_length"), positive(f, arch + ".block_count"),
                heads, kvHeads, headDim, vocab, positive(f, arch + ".context_length"),
                f.number(arch + ".rope.freq_base").orElse(10000.0),
                f.number(arch + ".attention.layer_norm_rms_epsilon").orElse(1e-5),
                f.metadata().get(arch + ".swin_norm") instanceof Boolean b && b, chameleon,
                !tensors.containsKey("lm_head.weight"), bos, eos, pad, embed.dtype().name().toLowerCase(java.util.Locale.ROOT),
                vocabulary, Optional.empty(), true);
    }

    private static int positive(GgufFile f, String key) {
        long v = f.integer(key).orElseThrow(() -> CheckpointException.of(f.path(), "metadata '" + key + "' is missing"));
        if (v < 1 || v > Integer.MAX_VALUE) throw CheckpointException.of(f.path(), "metadata '" + key + "' is " + v);
        return (int) v;
    }

    public ModelConfig config() {
        return config;
    }

    public GgufFile file() {
        return file;
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public Tensor require(String name) {
        Tensor t = tensors.get(name);
        if (t != null) return t;
        String g = ggufNames.get(name);
        if (g != null) file.require(g);   // explains an unsupported type
        String expected = ggufName(name);
        throw CheckpointException.of(file.path(), "missing tensor '" + (expected == null ? name : expected + "' (" + name + ")"));
    }

    @Override
    public String describe() {
        return file.describe();
    }

    @Override
    public void close() {
        file.close();
    }
}
