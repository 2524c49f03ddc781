package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The decoder's architecture, read from an HF {@code config.json}. One forward pass serves every model this record
 * can describe: norm placement ({@link #swinNorm}), per-head QK-LayerNorm ({@link #qkNorm}), GQA, RoPE, SwiGLU.
 *
 * @param headDim      hidden / heads
 * @param swinNorm     Chameleon-34B layout: norms after attention and MLP instead of before
 * @param qkNorm       per-head LayerNorm (with bias) on queries and keys before RoPE
 * @param vocabulary   Chameleon's token map; empty for a text-only model
 * @param vq           the image tokenizer's shape; absent for a text-only model
 * @param interleavedRope RoPE rotates adjacent pairs (2i, 2i+1) instead of halves (i, i + headDim/2): GGUF files,
 *                     whose converter permuted the query and key rows (and QK-norm weights) to suit llama.cpp
 */
public record ModelConfig(String modelType, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                          int numKvHeads, int headDim, int vocabSize, int maxPositions, double ropeTheta,
                          double rmsNormEps, boolean swinNorm, boolean qkNorm, boolean tieWordEmbeddings,
                          int bosId, int eosId, int padId, String torchDtype,
                          Optional<VocabularyMap> vocabulary, Optional<VqConfig> vq, boolean interleavedRope) {

    /** QK-LayerNorm's epsilon is fixed in Chameleon, independent of {@code rms_norm_eps}. */
    public static final double QK_NORM_EPS = 1e-5;

    /**
     * Ids index arrays (the vocabulary map, logits); a config that claims more than this is broken, not a model
     * (the largest real vocabularies are ~260k).
     */
    public static final int MAX_VOCAB_SIZE = 1 << 24;

    public int kvDim() {
        return numKvHeads * headDim;
    }

    public int qDim() {
        return numHeads * headDim;
    }

    /** This config with the special ids (and vocabulary) the tokenizer gives, see {@link SpecialTokens}. */
    public ModelConfig withSpecialTokens(int bos, int eos, int pad, Optional<VocabularyMap> vocabulary) {
        return new ModelConfig(modelType, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads, headDim, vocabSize,
                maxPositions, ropeTheta, rmsNormEps, swinNorm, qkNorm, tieWordEmbeddings, bos, eos, pad, torchDtype,
                vocabulary, vq, interleavedRope);
    }

    /** The RoPE type this engine runs: unscaled rotary embeddings. */
    public static final String DEFAULT_ROPE = "default";

    /**
     * {@code rope_theta}, from transformers v5's {@code rope_parameters} ({@code {rope_type, rope_theta}}) or the
     * older top-level field; a scaled RoPE type is refused by name rather than run as plain RoPE.
     */
    static double ropeTheta(ConfigReader c) {
        for (String field : new String[]{"rope_parameters", "rope_scaling"}) {
            if (!c.has(field)) continue;
            ConfigReader r = c.object(field);
            String type = r.optString("rope_type", r.optString("type", null));
            if (type == null) throw c.error(field, "has no rope_type");
            if (!type.equals(DEFAULT_ROPE)) {
                throw c.error(field, "has RoPE type '" + type + "'; only '" + DEFAULT_ROPE + "' (unscaled RoPE) is supported");
            }
        }
        if (!c.has("rope_parameters") || !c.object("rope_parameters").has("rope_theta")) {
            return c.optPositiveDouble("rope_theta", 10000.0);
        }
        double theta = c.object("rope_parameters").requirePositiveDouble("rope_theta");
        if (c.has("rope_theta") && c.requirePositiveDouble("rope_theta") != theta) {
            throw c.error("rope_theta", "(" + c.requirePositiveDouble("rope_theta") + ") differs from rope_parameters.rope_theta ("
                    + theta + ")");
        }
        return theta;
    }

    public static ModelConfig read(Path configJson) {
        ConfigReader c = ConfigReader.read(configJson);
        String type = c.optString("model_type", null);
        if (type == null) throw c.error("model_type", "is missing");
        if (!type.equals("chameleon") && !type.equals("llama")) {
            throw c.error("model_type", "is '" + type + "'; supported: chameleon, llama");
        }
        int hidden = c.requireInt("hidden_size", 1);
        int heads = c.requireInt("num_attention_heads", 1);
        int kvHeads = c.optInt("num_key_value_heads", heads, 1);
        if (hidden % heads != 0) {
            throw c.error("num_attention_heads", "(" + heads + ") must divide hidden_size (" + hidden + ")");
        }
        if (heads % kvHeads != 0) {
            throw c.error("num_key_value_heads", "(" + kvHeads + ") must divide num_attention_heads (" + heads + ")");
        }
        int headDim = hidden / heads;
        if (c.has("head_dim") && c.requireInt("head_dim", 1) != headDim) {
            throw c.error("head_dim", "must equal hidden_size / num_attention_heads = " + headDim);
        }
        if (headDim % 2 != 0) throw c.error("num_attention_heads", "gives an odd head dimension " + headDim + "; RoPE needs it even");
        double ropeTheta = ropeTheta(c);
        if (c.optBoolean("attention_bias", false)) throw c.error("attention_bias", "true is not supported");
        if (c.optBoolean("mlp_bias", false)) throw c.error("mlp_bias", "true is not supported");
        String act = c.optString("hidden_act", "silu");
        if (!act.equals("silu")) throw c.error("hidden_act", "is '" + act + "'; only silu (SwiGLU) is supported");
        int vocab = c.requireInt("vocab_size", 1);
        if (vocab > MAX_VOCAB_SIZE) throw c.error("vocab_size", "(" + vocab + ") is larger than the supported " + MAX_VOCAB_SIZE);
        int maxPos = c.optInt("max_position_embeddings", 4096, 1);
        boolean chameleon = type.equals("chameleon");

        Optional<VocabularyMap> vocabulary = Optional.empty();
        if (c.has("vocabulary_map")) {
            JsonNode vm = c.root().get("vocabulary_map");
            if (!vm.isObject()) throw c.error("vocabulary_map", "must be an object of token → id");
            Map<String, Integer> map = new LinkedHashMap<>();
            vm.properties().forEach(e -> {
                JsonNode v = e.getValue();
                if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                    throw c.error("vocabulary_map", "entry '" + e.getKey() + "' must be an integer id, found " + v);
                }
                map.put(e.getKey(), v.asInt());
            });
            vocabulary = Optional.of(VocabularyMap.of(map, vocab, configJson));
        } else if (chameleon) {
            throw c.error("vocabulary_map", "is missing (a Chameleon config maps every token to its id)");
        }
        Optional<VqConfig> vq = c.has("vq_config") ? Optional.of(VqConfig.parse(c.object("vq_config"))) : Optional.empty();
        if (vq.isPresent() && vocabulary.isPresent() && vocabulary.get().imageTokenCount() > 0
                && vocabulary.get().imageTokenCount() != vq.get().numEmbeddings()) {
            throw c.error("vq_config.num_embeddings", "(" + vq.get().numEmbeddings() + ") differs from the "
                    + vocabulary.get().imageTokenCount() + " image tokens in vocabulary_map");
        }
        int bos = c.optInt("bos_token_id", 0, 0);
        int[] eosIds = c.has("eos_token_id") ? SpecialTokens.ids(c, "eos_token_id", vocab) : new int[]{2};
        if (eosIds.length == 0) throw c.error("eos_token_id", "is an empty list");
        int eos = eosIds[0];      // the others are stop tokens too (SpecialTokens)
        int pad = c.optInt("pad_token_id", 1, 0);
        for (var e : Map.of("bos_token_id", bos, "eos_token_id", eos, "pad_token_id", pad).entrySet()) {
            if (e.getValue() >= vocab) throw c.error(e.getKey(), "(" + e.getValue() + ") is outside the vocabulary of " + vocab);
        }
        return new ModelConfig(type, hidden, c.requireInt("intermediate_size", 1), c.requireInt("num_hidden_layers", 1),
                heads, kvHeads, headDim, vocab, maxPos,
                ropeTheta, c.optPositiveDouble("rms_norm_eps", 1e-5),
                c.optBoolean("swin_norm", false), chameleon, c.optBoolean("tie_word_embeddings", false),
                bos, eos, pad, c.optString("torch_dtype", "float32"), vocabulary, vq, false);
    }
}
