package dev.cm3leon.retrieval;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.ClipConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.engine.cpu.CpuOps;
import dev.cm3leon.engine.cpu.MatrixWeights;

import java.nio.file.Path;

/**
 * HF's {@code CLIPModel} forward in float32 on the CPU engine's kernels: the text tower (token + learned position
 * embeddings, causal encoder, final LayerNorm, pooled at the end-of-text position), the vision tower (patch conv as
 * a matrix product, class token, learned positions, {@code pre_layrnorm}, encoder, {@code post_layernorm} on the
 * class token) and both projections. Weights stay memory-mapped in their stored dtype. Thread-safe.
 */
public final class ClipModel implements AutoCloseable {
    /** Observes a tower's intermediate activations (tests compare them with the reference's). */
    interface Probe {
        /** Index 0: the embeddings (after {@code pre_layrnorm} for vision); i ≥ 1: layer i's output. */
        default void hiddenState(int index, float[] x, int rows) {
        }

        /** The last hidden state: after {@code final_layer_norm} for text, the last layer's output for vision. */
        default void lastHiddenState(float[] x, int rows) {
        }

        /** [batch, hidden]: the pooled output, before the projection. */
        default void pooled(float[] x, int rows) {
        }
    }

    private static final Probe NONE = new Probe() {
    };

    private final ClipConfig c;
    private final TensorSource weights;
    private final float logitScale;
    // text tower
    private final MatrixWeights tokenEmbedding, textProjection;
    private final float[] textPositions, finalNormWeight, finalNormBias;
    private final ClipEncoder textEncoder;
    // vision tower
    private final MatrixWeights patchEmbedding, visualProjection;
    private final float[] classEmbedding, visionPositions, preNormWeight, preNormBias, postNormWeight, postNormBias;
    private final ClipEncoder visionEncoder;

    private ClipModel(ClipConfig c, TensorSource w) {
        this.c = c;
        this.weights = w;
        ClipConfig.Tower t = c.text(), v = c.vision();
        int dt = t.hiddenSize(), dv = v.hiddenSize(), p = c.patchSize();
        this.tokenEmbedding = ClipEncoder.matrix(w, "text_model.embeddings.token_embedding.weight", c.vocabSize(), dt);
        this.textPositions = ClipEncoder.vector(w, "text_model.embeddings.position_embedding.weight", c.maxPositions(), dt);
        this.textEncoder = new ClipEncoder(w, "text_model.encoder.", t);
        this.finalNormWeight = ClipEncoder.vector(w, "text_model.final_layer_norm.weight", dt);
        this.finalNormBias = ClipEncoder.vector(w, "text_model.final_layer_norm.bias", dt);
        this.textProjection = ClipEncoder.matrix(w, "text_projection.weight", c.projectionDim(), dt);

        this.classEmbedding = ClipEncoder.vector(w, "vision_model.embeddings.class_embedding", dv);
        // conv weight [d, C, p, p] read as a matrix [d, C·p·p]: each patch becomes one row of the input
        this.patchEmbedding = ClipEncoder.matrix(w, "vision_model.embeddings.patch_embedding.weight", dv, c.numChannels(), p, p);
        this.visionPositions = ClipEncoder.vector(w, "vision_model.embeddings.position_embedding.weight", c.visionPositions(), dv);
        this.preNormWeight = ClipEncoder.vector(w, "vision_model.pre_layrnorm.weight", dv);
        this.preNormBias = ClipEncoder.vector(w, "vision_model.pre_layrnorm.bias", dv);
        this.visionEncoder = new ClipEncoder(w, "vision_model.encoder.", v);
        this.postNormWeight = ClipEncoder.vector(w, "vision_model.post_layernorm.weight", dv);
        this.postNormBias = ClipEncoder.vector(w, "vision_model.post_layernorm.bias", dv);
        this.visualProjection = ClipEncoder.matrix(w, "visual_projection.weight", c.projectionDim(), dv);

        Tensor scale = w.require("logit_scale");
        if (scale.elementCount() != 1) throw new CheckpointException("tensor 'logit_scale' must hold one value");
        this.logitScale = (float) Math.exp(scale.getFloat(0));
    }

    /** Opens an HF CLIP folder: {@code config.json} and {@code model.safetensors} (or shards). */
    public static ClipModel load(Path folder) {
        ClipConfig config = ClipConfig.read(folder.resolve("config.json"));
        SafetensorsCheckpoint w = SafetensorsCheckpoint.open(folder);
        try {
            return new ClipModel(config, w);
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    public ClipConfig config() {
        return c;
    }

    /** {@code exp(logit_scale)}: the temperature that turns cosine similarities into CLIP's logits. */
    public float logitScale() {
        return logitScale;
    }

    /**
     * Projected text features [batch, projectionDim] (not normalised) of {@code batch} sequences of {@code seq} ids,
     * row-major in {@code ids}; {@code mask} marks real tokens with 1 and padding with 0 (null: no padding).
     */
    public float[] textFeatures(int[] ids, int[] mask, int batch, int seq) {
        return textFeatures(ids, mask, batch, seq, NONE);
    }

    float[] textFeatures(int[] ids, int[] mask, int batch, int seq, Probe probe) {
        if (seq < 1 || seq > c.maxPositions()) {
            throw new IllegalArgumentException(seq + " tokens do not fit the text context of " + c.maxPositions());
        }
        if (ids.length != batch * seq || (mask != null && mask.length != ids.length)) {
            throw new IllegalArgumentException("ids (and mask) must hold batch × seq = " + batch * seq + " entries");
        }
        int d = c.text().hiddenSize(), n = batch * seq;
        float[] x = new float[n * d];                                    // [batch·seq, d]
        for (int r = 0; r < n; r++) {
            if (ids[r] < 0 || ids[r] >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + ids[r] + " is outside the vocabulary of " + c.vocabSize());
            }
            tokenEmbedding.copyRow(ids[r], x, r * d);
            int pos = (r % seq) * d;
            for (int i = 0; i < d; i++) x[r * d + i] += textPositions[pos + i];
        }
        probe.hiddenState(0, x, n);
        textEncoder.forward(x, batch, seq, true, mask, (layer, h, rows) -> probe.hiddenState(layer + 1, h, rows));
        CpuOps.layerNorm(x, finalNormWeight, finalNormBias, (float) c.text().layerNormEps(), n, d, x);
        probe.lastHiddenState(x, n);
        float[] pooled = new float[batch * d];                           // [batch, d]
        for (int b = 0; b < batch; b++) System.arraycopy(x, (b * seq + poolPosition(ids, b * seq, seq)) * d, pooled, b * d, d);
        probe.pooled(pooled, batch);
        float[] out = new float[batch * c.projectionDim()];
        textProjection.matmul(pooled, batch, out);
        return out;
    }

    /** Where HF pools a sequence: the first end-of-text id, or the largest id for legacy configs; 0 when absent. */
    private int poolPosition(int[] ids, int off, int seq) {
        int best = 0;
        for (int i = 0; i < seq; i++) {
            if (c.poolsAtLargestId()) {
                if (ids[off + i] > ids[off + best]) best = i;
            } else if (ids[off + i] == c.eosTokenId()) {
                return i;
            }
        }
        return best;
    }

    /** Projected image features [batch, projectionDim] (not normalised) of pixel values [batch, C, S, S]. */
    public float[] imageFeatures(float[] pixels, int batch) {
        return imageFeatures(pixels, batch, NONE);
    }

    float[] imageFeatures(float[] pixels, int batch, Probe probe) {
        int s = c.imageSize(), p = c.patchSize(), g = c.gridSize(), ch = c.numChannels();
        int patches = g * g, seq = c.visionPositions(), d = c.vision().hiddenSize(), kk = ch * p * p;
        if (pixels.length != batch * ch * s * s) {
            throw new IllegalArgumentException("pixel values must be [" + batch + ", " + ch + ", " + s + ", " + s + "]");
        }
        // im2col: one row per patch, in the conv weight's (channel, ky, kx) order: [batch·patches, C·p·p]
        float[] cols = new float[batch * patches * kk];
        for (int b = 0; b < batch; b++) {
            for (int gy = 0; gy < g; gy++) {
                for (int gx = 0; gx < g; gx++) {
                    int row = (b * patches + gy * g + gx) * kk;
                    for (int cc = 0; cc < ch; cc++) {
                        for (int ky = 0; ky < p; ky++) {
                            int src = ((b * ch + cc) * s + gy * p + ky) * s + gx * p;
                            System.arraycopy(pixels, src, cols, row + (cc * p + ky) * p, p);
                        }
                    }
                }
            }
        }
        float[] patchOut = new float[batch * patches * d];               // [batch·patches, d]
        patchEmbedding.matmul(cols, batch * patches, patchOut);
        int n = batch * seq;
        float[] x = new float[n * d];                                    // [batch·(1+patches), d]
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < seq; t++) {
                int dst = (b * seq + t) * d;
                float[] src = t == 0 ? classEmbedding : patchOut;
                int srcOff = t == 0 ? 0 : (b * patches + t - 1) * d;
                for (int i = 0; i < d; i++) x[dst + i] = src[srcOff + i] + visionPositions[t * d + i];
            }
        }
        float eps = (float) c.vision().layerNormEps();
        CpuOps.layerNorm(x, preNormWeight, preNormBias, eps, n, d, x);
        probe.hiddenState(0, x, n);
        visionEncoder.forward(x, batch, seq, false, null, (layer, h, rows) -> probe.hiddenState(layer + 1, h, rows));
        probe.lastHiddenState(x, n);
        float[] pooled = new float[batch * d];                           // class token of each image [batch, d]
        for (int b = 0; b < batch; b++) System.arraycopy(x, b * seq * d, pooled, b * d, d);
        CpuOps.layerNorm(pooled, postNormWeight, postNormBias, eps, batch, d, pooled);
        probe.pooled(pooled, batch);
        float[] out = new float[batch * c.projectionDim()];
        visualProjection.matmul(pooled, batch, out);
        return out;
    }

    @Override
    public void close() {
        weights.close();
    }
}
