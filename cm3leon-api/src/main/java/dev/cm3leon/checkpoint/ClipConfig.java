package dev.cm3leon.checkpoint;

import java.nio.file.Path;
import java.util.Set;

/**
 * An HF {@code CLIPModel} config ({@code model_type: clip}): a causal text transformer and a ViT, each projected into
 * a shared space of {@code projectionDim}. Absent fields take HF's {@code CLIPTextConfig}/{@code CLIPVisionConfig}
 * defaults, as {@code from_pretrained} does.
 *
 * @param eosTokenId the text config's {@code eos_token_id}; 2 is the legacy value of OpenAI's configs, for which HF
 *                   pools at the largest id instead (see {@link #poolsAtLargestId()})
 */
public record ClipConfig(Tower text, Tower vision, int projectionDim, int vocabSize, int maxPositions, int eosTokenId,
                         int imageSize, int patchSize, int numChannels) {
    /** Activations HF's {@code ACT2FN} maps for CLIP checkpoints that we implement. */
    public static final Set<String> ACTIVATIONS = Set.of("quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh");

    /** One transformer tower: pre-LayerNorm blocks with biased projections and an MLP. */
    public record Tower(int hiddenSize, int intermediateSize, int numLayers, int numHeads, String hiddenAct,
                        double layerNormEps) {
        public int headDim() {
            return hiddenSize / numHeads;
        }
    }

    /** Number of patches along one side of the (square) input image. */
    public int gridSize() {
        return imageSize / patchSize;
    }

    /** Positions of the vision tower: the class token and one per patch. */
    public int visionPositions() {
        return 1 + gridSize() * gridSize();
    }

    /**
     * HF pools the text at {@code argmax(input_ids)} when {@code eos_token_id == 2} (configs written before the real
     * id was recorded, where {@code <|endoftext|>} is the largest id), else at the first position holding the id.
     */
    public boolean poolsAtLargestId() {
        return eosTokenId == 2;
    }

    public static ClipConfig read(Path configJson) {
        ConfigReader root = ConfigReader.read(configJson);
        String type = root.optString("model_type", "clip");
        if (!type.equals("clip")) throw root.error("model_type", "must be 'clip', found '" + type + "'");
        ConfigReader t = root.has("text_config") ? root.object("text_config") : root;
        ConfigReader v = root.has("vision_config") ? root.object("vision_config") : root;
        Tower text = tower(t, 512, 2048, 12, 8);
        Tower vision = tower(v, 768, 3072, 12, 12);
        int imageSize = v.optInt("image_size", 224, 1);
        int patchSize = v.optInt("patch_size", 32, 1);
        if (imageSize % patchSize != 0) {
            throw v.error("image_size", "(" + imageSize + ") must be a multiple of patch_size (" + patchSize + ")");
        }
        return new ClipConfig(text, vision,
                root.optInt("projection_dim", 512, 1),
                t.optInt("vocab_size", 49408, 1),
                t.optInt("max_position_embeddings", 77, 2),
                t.optInt("eos_token_id", 49407, 0),
                imageSize, patchSize,
                v.optInt("num_channels", 3, 1));
    }

    private static Tower tower(ConfigReader c, int hidden, int inter, int layers, int heads) {
        int h = c.optInt("hidden_size", hidden, 1);
        int nh = c.optInt("num_attention_heads", heads, 1);
        if (h % nh != 0) throw c.error("hidden_size", "(" + h + ") must be divisible by num_attention_heads (" + nh + ")");
        String act = c.optString("hidden_act", "quick_gelu");
        if (!ACTIVATIONS.contains(act)) throw c.error("hidden_act", "'" + act + "' is not supported; supported: " + ACTIVATIONS);
        return new Tower(h, c.optInt("intermediate_size", inter, 1), c.optInt("num_hidden_layers", layers, 0), nh, act,
                c.optPositiveDouble("layer_norm_eps", 1e-5));
    }
}
