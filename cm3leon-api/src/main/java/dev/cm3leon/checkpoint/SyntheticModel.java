package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * A model of a real shape with seeded random weights, for benchmarks: every row is a pure function of (seed, tensor,
 * row), so the same weights can be written as safetensors or GGUF, streamed row by row without holding the model in
 * memory. Weights are scaled like trained ones (unit-variance activations), norms near one.
 */
public final class SyntheticModel implements RowSource {
    /**
     * @param arch "chameleon" (QK-norm, vocabulary map) or "llama"
     */
    public record Shape(String name, String arch, int hidden, int intermediate, int layers, int heads, int kvHeads,
                        int vocab, int maxPositions, boolean tied) {
        /**
         * Presets: {@code tiny}; {@code tiny-image} (a two-layer transformer over Chameleon's 65,536-token vocabulary,
         * for quick end-to-end image runs); Chameleon-shaped {@code 0.5B}, {@code 1B} and {@code 7B} (Chameleon 7B's
         * shape, 14 GB in bf16); {@code llama-1B} (Llama 3.2 1B's shape).
         */
        public static Shape parse(String size) {
            return switch (size.toLowerCase(Locale.ROOT)) {
                case "tiny" -> new Shape("tiny", "chameleon", 256, 688, 4, 4, 4, 4096, 1024, false);
                case "tiny-image" -> new Shape("tiny-image", "chameleon", 128, 352, 2, 2, 2, 65536, 2048, false);
                case "0.5b" -> new Shape("0.5B", "chameleon", 1536, 4096, 12, 12, 12, 65536, 4096, false);
                case "1b" -> new Shape("1B", "chameleon", 2048, 5632, 16, 16, 16, 65536, 4096, false);
                case "7b" -> new Shape("7B", "chameleon", 4096, 11008, 32, 32, 32, 65536, 4096, false);
                case "llama-1b" -> new Shape("llama-1B", "llama", 2048, 8192, 16, 32, 8, 128256, 4096, true);
                default -> throw new IllegalArgumentException("unknown synthetic size '" + size
                        + "': tiny, tiny-image, 0.5B, 1B, 7B or llama-1B");
            };
        }

        /**
         * Whether the model is a complete image model: Chameleon-shaped with a vocabulary that holds Chameleon's
         * layout (8192 image tokens after four specials, then the image markers and text).
         */
        public boolean drawsImages() {
            return arch.equals("chameleon") && vocab >= FIRST_TEXT_ID + TEXT_CHARS.length();
        }

        public int headDim() {
            return hidden / heads;
        }

        /** Parameters of the matrices and norms (embeddings counted once when tied). */
        public long parameters() {
            long d = hidden, kv = (long) kvHeads * headDim();
            long layer = d * d * 2 + d * kv * 2 + 3 * d * intermediate + 2 * d
                    + (arch.equals("chameleon") ? 2L * (d + kv) : 0);
            return vocab * d * (tied ? 1 : 2) + layers * layer + d;
        }
    }

    /** Where the vocabulary puts its image markers and text, Chameleon's layout: image tokens from id 4. */
    static final int FIRST_IMAGE_ID = 4, EOI_ID = FIRST_IMAGE_ID + 8192, BOI_ID = EOI_ID + 1, IMAGE_ID = EOI_ID + 2,
            SEP_ID = EOI_ID + 3, FIRST_TEXT_ID = EOI_ID + 4;
    /** The text a synthetic tokenizer spells, one token per character. */
    static final String TEXT_CHARS = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

    private final Shape shape;
    private final long seed;
    private final Optional<SyntheticVqGan> vqGan;
    private final ModelConfig config;
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    private SyntheticModel(Shape shape, long seed, VqConfig vq) {
        this.shape = shape;
        this.seed = seed;
        boolean chameleon = shape.arch().equals("chameleon");
        if (shape.drawsImages() && vq.numEmbeddings() != 8192) {
            throw new IllegalArgumentException("the vocabulary holds 8192 image tokens, the VQ-GAN has " + vq.numEmbeddings() + " codes");
        }
        this.vqGan = shape.drawsImages() ? Optional.of(SyntheticVqGan.of(vq, seed)) : Optional.empty();
        Optional<VocabularyMap> vocabulary = chameleon
                ? Optional.of(VocabularyMap.of(vocabularyMap(), shape.vocab(), Path.of(shape.name())))
                : Optional.empty();
        this.config = new ModelConfig(shape.arch(), shape.hidden(), shape.intermediate(), shape.layers(), shape.heads(),
                shape.kvHeads(), shape.headDim(), shape.vocab(), shape.maxPositions(), 10000.0, 1e-5, false, chameleon,
                shape.tied(), 0, 2, 1, "bfloat16", vocabulary, vqGan.map(SyntheticVqGan::config), false);
        long d = shape.hidden(), kv = (long) shape.kvHeads() * shape.headDim(), ff = shape.intermediate();
        shapes.put("model.embed_tokens.weight", new long[]{shape.vocab(), d});
        for (int i = 0; i < shape.layers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "self_attn.q_proj.weight", new long[]{d, d});
            shapes.put(p + "self_attn.k_proj.weight", new long[]{kv, d});
            shapes.put(p + "self_attn.v_proj.weight", new long[]{kv, d});
            shapes.put(p + "self_attn.o_proj.weight", new long[]{d, d});
            if (chameleon) {
                shapes.put(p + "self_attn.q_norm.weight", new long[]{shape.heads(), shape.headDim()});
                shapes.put(p + "self_attn.q_norm.bias", new long[]{shape.heads(), shape.headDim()});
                shapes.put(p + "self_attn.k_norm.weight", new long[]{shape.kvHeads(), shape.headDim()});
                shapes.put(p + "self_attn.k_norm.bias", new long[]{shape.kvHeads(), shape.headDim()});
            }
            shapes.put(p + "mlp.gate_proj.weight", new long[]{ff, d});
            shapes.put(p + "mlp.up_proj.weight", new long[]{ff, d});
            shapes.put(p + "mlp.down_proj.weight", new long[]{d, ff});
            shapes.put(p + "input_layernorm.weight", new long[]{d});
            shapes.put(p + "post_attention_layernorm.weight", new long[]{d});
        }
        shapes.put("model.norm.weight", new long[]{d});
        if (!shape.tied()) shapes.put("lm_head.weight", new long[]{shape.vocab(), d});
    }

    /** A model of {@code shape}; one that draws images gets Chameleon's VQ-GAN ({@link SyntheticVqGan#CHAMELEON}). */
    public static SyntheticModel of(Shape shape, long seed) {
        return new SyntheticModel(shape, seed, SyntheticVqGan.CHAMELEON);
    }

    /** A model of {@code shape} with an image tokenizer of another shape (of 8192 codes), for quicker tests. */
    public static SyntheticModel of(Shape shape, long seed, VqConfig vqGan) {
        return new SyntheticModel(shape, seed, vqGan);
    }

    public Shape shape() {
        return shape;
    }

    /** The image tokenizer written beside the model: Chameleon's VQ-GAN shape, when the model draws images. */
    public Optional<SyntheticVqGan> vqGan() {
        return vqGan;
    }

    /**
     * Token → id as {@code vocabulary_map} gives it: the specials, and for an image model the 8192 image tokens
     * ({@code IMGIMG…Z}), the image markers and one token per text character, in Chameleon's order.
     */
    Map<String, Integer> vocabularyMap() {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put(SpecialTokens.BOS, 0);
        m.put(SpecialTokens.PAD, 1);
        m.put(SpecialTokens.EOS, 2);
        if (!shape.drawsImages()) return m;
        m.put("<unk>", 3);
        for (int code = 0; code < 8192; code++) m.put(imageTokenName(code), FIRST_IMAGE_ID + code);
        m.put(VocabularyMap.EOI, EOI_ID);
        m.put(VocabularyMap.BOI, BOI_ID);
        m.put(VocabularyMap.IMAGE_PLACEHOLDER, IMAGE_ID);
        m.put(VocabularyMap.SEP, SEP_ID);
        for (int i = 0; i < TEXT_CHARS.length(); i++) m.put(String.valueOf(TEXT_CHARS.charAt(i)), FIRST_TEXT_ID + i);
        return m;
    }

    /** {@code IMGIMG} + the codebook index's decimal digits as letters A–J + {@code Z}. */
    static String imageTokenName(int code) {
        StringBuilder sb = new StringBuilder(VocabularyMap.IMAGE_TOKEN_PREFIX);
        for (char c : Integer.toString(code).toCharArray()) sb.append((char) ('A' + (c - '0')));
        return sb.append('Z').toString();
    }

    /** The config in HF's conventions (rotate-half RoPE). */
    public ModelConfig config() {
        return config;
    }

    @Override
    public List<String> names() {
        return List.copyOf(shapes.keySet());
    }

    @Override
    public long[] shape(String name) {
        long[] s = shapes.get(name);
        if (s == null) throw new IllegalArgumentException("no tensor '" + name + "'");
        return s.clone();
    }

    @Override
    public void row(String name, long r, float[] dst) {
        long[] s = shape(name);
        int len = RowSource.rowLength(s);
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode() * 0xC2B2AE3D27D4EB4FL + r);
        float center, halfWidth;
        if (name.endsWith("norm.bias")) {
            center = 0f;
            halfWidth = 0.1f;
        } else if (name.endsWith("norm.weight") || name.endsWith("layernorm.weight")) {
            center = 1f;
            halfWidth = 0.1f;
        } else if (name.equals("model.embed_tokens.weight")) {
            center = 0f;
            halfWidth = (float) Math.sqrt(3.0);
        } else {
            center = 0f;
            halfWidth = (float) Math.sqrt(3.0 / len);   // unit variance after the product
        }
        for (int i = 0; i < len; i++) dst[i] = center + halfWidth * (float) (rnd.nextDouble() * 2 - 1);
    }

    /** Writes {@code config.json} and {@code model.safetensors} into {@code folder}, weights as {@code dtype}. */
    public Path writeSafetensors(Path folder, DType dtype) {
        try {
            Files.createDirectories(folder);
            ObjectNode c = SafetensorsFile.JSON.createObjectNode();
            c.put("model_type", shape.arch()).put("hidden_size", shape.hidden()).put("intermediate_size", shape.intermediate())
                    .put("num_hidden_layers", shape.layers()).put("num_attention_heads", shape.heads())
                    .put("num_key_value_heads", shape.kvHeads()).put("vocab_size", shape.vocab())
                    .put("max_position_embeddings", shape.maxPositions()).put("rope_theta", 10000.0)
                    .put("rms_norm_eps", 1e-5).put("hidden_act", "silu").put("tie_word_embeddings", shape.tied())
                    .put("bos_token_id", 0).put("eos_token_id", 2).put("pad_token_id", 1)
                    .put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : "float32");
            if (shape.arch().equals("chameleon")) {
                c.put("swin_norm", false);
                ObjectNode vm = c.putObject("vocabulary_map");
                vocabularyMap().forEach(vm::put);
            }
            if (vqGan.isPresent()) {
                SyntheticVqGan.putHfConfig(c.putObject("vq_config"), vqGan.get().config());
                Files.writeString(folder.resolve(CheckpointFolder.HF_TOKENIZER), tokenizerJson());
                Files.writeString(folder.resolve("generation_config.json"),
                        "{\"bos_token_id\": 0, \"eos_token_id\": 2, \"pad_token_id\": 1}\n");
            }
            Files.writeString(folder.resolve("config.json"), c.toPrettyString());
        } catch (IOException e) {
            throw new CheckpointException(folder + ": cannot write: " + e.getMessage(), e);
        }
        SafetensorsWriter.write(folder.resolve("model.safetensors"), this, dtype);
        // As a user's folder holds it: HF's checkpoint without the decoder, Meta's VQ-GAN files beside it.
        vqGan.ifPresent(vq -> vq.writeMeta(folder, dtype));
        return folder;
    }

    /** A character-level BPE tokenizer (no merges) over the vocabulary's text tokens, with the specials added. */
    private String tokenizerJson() {
        ObjectNode t = SafetensorsFile.JSON.createObjectNode();
        t.put("version", "1.0").putNull("truncation").putNull("padding");
        var added = t.putArray("added_tokens");
        vocabularyMap().forEach((token, id) -> {
            if (token.length() > 1 && !VocabularyMap.isImageTokenName(token)) {
                added.addObject().put("id", id).put("content", token).put("single_word", false).put("lstrip", false)
                        .put("rstrip", false).put("normalized", false).put("special", true);
            }
        });
        t.putNull("normalizer").putNull("pre_tokenizer").putNull("post_processor");
        t.putObject("decoder").put("type", "Fuse");
        ObjectNode model = t.putObject("model");
        model.put("type", "BPE").putNull("dropout").put("unk_token", "<unk>").putNull("continuing_subword_prefix")
                .putNull("end_of_word_suffix").put("fuse_unk", false).put("byte_fallback", false);
        ObjectNode vocab = model.putObject("vocab");
        vocabularyMap().forEach(vocab::put);
        model.putArray("merges");
        return t.toPrettyString();
    }

    /**
     * Writes the model as GGUF with its matrices as {@code matrixType}; a Llama-shaped model also gets a byte-level
     * GPT-2 style token list with Llama 3's special tokens, enough for GGUF readers that need a tokenizer.
     */
    public Path writeGguf(Path file, DType matrixType) {
        Map<String, Object> tokenizer = new LinkedHashMap<>();
        if (shape.arch().equals("llama")) tokenizer = llama3Tokenizer(shape.vocab());
        GgufExport.write(file, config, this, matrixType, tokenizer);
        return file;
    }

    /** 256 byte-level tokens, filler, and Llama 3's special tokens from id 128000 when the vocabulary reaches them. */
    private static Map<String, Object> llama3Tokenizer(int vocab) {
        List<String> tokens = new ArrayList<>(vocab);
        int[] types = new int[vocab];
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf((char) byteToUnicode(b)));
        int specials = vocab >= 128256 ? 128000 : vocab;
        for (int i = 256; i < specials; i++) tokens.add("t" + i);
        String[] named = {"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"};
        for (int i = specials; i < vocab; i++) {
            int k = i - specials;
            tokens.add(k < named.length ? named[k] : "<|reserved_special_token_" + (k - 8) + "|>");
            types[i] = 3;   // control
        }
        for (int i = 0; i < specials; i++) types[i] = 1;   // normal
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tokenizer.ggml.model", "gpt2");
        m.put("tokenizer.ggml.pre", "llama-bpe");
        m.put("tokenizer.ggml.tokens", tokens);
        m.put("tokenizer.ggml.token_type", types);
        m.put("tokenizer.ggml.merges", List.of());
        if (vocab >= 128256) {
            m.put("tokenizer.ggml.bos_token_id", 128000);
            m.put("tokenizer.ggml.eos_token_id", 128009);
        }
        return m;
    }

    /** GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves, the rest map from U+0100 on. */
    private static int byteToUnicode(int b) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return b;
        int n = 0;
        for (int x = 0; x < b; x++) {
            if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
        }
        return 256 + n;
    }
}
