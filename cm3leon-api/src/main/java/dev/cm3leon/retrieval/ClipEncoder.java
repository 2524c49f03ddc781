package dev.cm3leon.retrieval;

import dev.cm3leon.checkpoint.ClipConfig;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.engine.cpu.CpuOps;
import dev.cm3leon.engine.cpu.MatrixWeights;
import dev.cm3leon.engine.cpu.Parallel;

/**
 * The transformer both CLIP towers share ({@code CLIPEncoder}): pre-LayerNorm blocks of multi-head attention with
 * biased projections, then an MLP {@code fc2(act(fc1(x)))}. Sequences of a batch are stacked into one activation
 * matrix, so each weight matrix is read once per batch; attention stays inside each sequence.
 */
final class ClipEncoder {
    /** Observes each layer's output (tests compare them with the reference's hidden states). */
    @FunctionalInterface
    interface LayerObserver {
        void layerOutput(int layer, float[] x, int rows);
    }

    /** Matrices stay views of the checkpoint; norms and biases are copied to the heap. */
    private record Layer(MatrixWeights q, MatrixWeights k, MatrixWeights v, MatrixWeights o,
                         float[] qBias, float[] kBias, float[] vBias, float[] oBias,
                         float[] norm1Weight, float[] norm1Bias, float[] norm2Weight, float[] norm2Bias,
                         MatrixWeights fc1, MatrixWeights fc2, float[] fc1Bias, float[] fc2Bias) {
    }

    private final ClipConfig.Tower c;
    private final Layer[] layers;

    /** Reads {@code <prefix>layers.<i>.…} in HF's names, checking every shape against the tower's config. */
    ClipEncoder(TensorSource src, String prefix, ClipConfig.Tower c) {
        this.c = c;
        int d = c.hiddenSize(), ff = c.intermediateSize();
        this.layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = prefix + "layers." + i + ".";
            layers[i] = new Layer(
                    matrix(src, p + "self_attn.q_proj.weight", d, d), matrix(src, p + "self_attn.k_proj.weight", d, d),
                    matrix(src, p + "self_attn.v_proj.weight", d, d), matrix(src, p + "self_attn.out_proj.weight", d, d),
                    vector(src, p + "self_attn.q_proj.bias", d), vector(src, p + "self_attn.k_proj.bias", d),
                    vector(src, p + "self_attn.v_proj.bias", d), vector(src, p + "self_attn.out_proj.bias", d),
                    vector(src, p + "layer_norm1.weight", d), vector(src, p + "layer_norm1.bias", d),
                    vector(src, p + "layer_norm2.weight", d), vector(src, p + "layer_norm2.bias", d),
                    matrix(src, p + "mlp.fc1.weight", ff, d), matrix(src, p + "mlp.fc2.weight", d, ff),
                    vector(src, p + "mlp.fc1.bias", ff), vector(src, p + "mlp.fc2.bias", d));
        }
    }

    static MatrixWeights matrix(TensorSource src, String name, long... shape) {
        return MatrixWeights.of(src.require(name).requireShape(shape));
    }

    static float[] vector(TensorSource src, String name, long... shape) {
        return src.require(name).requireShape(shape).toFloatArray();
    }

    /**
     * Runs every layer on {@code x} [batch·seq, d] in place. A key position j is visible to query i of the same
     * sequence when {@code !causal || j ≤ i} and {@code keyMask} (1 = real token, 0 = padding; null = all real) allows
     * it, as HF's additive causal and padding masks do.
     */
    void forward(float[] x, int batch, int seq, boolean causal, int[] keyMask, LayerObserver observer) {
        int d = c.hiddenSize(), ff = c.intermediateSize(), n = batch * seq;
        float eps = (float) c.layerNormEps();
        float[] h = new float[n * d];      // normed input [n, d]
        float[] q = new float[n * d];      // [n, heads·headDim]
        float[] k = new float[n * d];
        float[] v = new float[n * d];
        float[] att = new float[n * d];    // attention output [n, heads·headDim]
        float[] proj = new float[n * d];   // out_proj / fc2 output [n, d]
        float[] mid = new float[n * ff];   // fc1 output [n, ff]
        float scale = (float) Math.pow(c.headDim(), -0.5);
        for (int li = 0; li < layers.length; li++) {
            Layer L = layers[li];
            // attention block: x = x + out_proj(attn(ln1(x)))
            CpuOps.layerNorm(x, L.norm1Weight, L.norm1Bias, eps, n, d, h);
            linear(L.q, L.qBias, h, n, q);
            CpuOps.scale(q, 0, n * d, scale);                        // HF scales the biased query, before QKᵀ
            linear(L.k, L.kBias, h, n, k);
            linear(L.v, L.vBias, h, n, v);
            attention(q, k, v, att, batch, seq, causal, keyMask);
            linear(L.o, L.oBias, att, n, proj);
            CpuOps.add(x, proj, n * d);
            // MLP block: x = x + fc2(act(fc1(ln2(x))))
            CpuOps.layerNorm(x, L.norm2Weight, L.norm2Bias, eps, n, d, h);
            linear(L.fc1, L.fc1Bias, h, n, mid);
            activate(mid, n * ff);
            linear(L.fc2, L.fc2Bias, mid, n, proj);
            CpuOps.add(x, proj, n * d);
            if (observer != null) observer.layerOutput(li, x, n);
        }
    }

    /** out [n, rows] = x [n, cols] · Wᵀ + bias. */
    static void linear(MatrixWeights w, float[] bias, float[] x, int n, float[] out) {
        w.matmul(x, n, out);
        if (bias != null) CpuOps.addBias(out, bias, n, w.rows());
    }

    private void activate(float[] x, int n) {
        switch (c.hiddenAct()) {
            case "quick_gelu" -> CpuOps.quickGelu(x, n);
            case "gelu" -> CpuOps.gelu(x, n);
            case "gelu_new", "gelu_pytorch_tanh" -> CpuOps.geluTanh(x, n);
            default -> throw new IllegalStateException("activation " + c.hiddenAct());
        }
    }

    /** Scaled dot-product attention per (sequence, query, head), parallel over all of them. */
    private void attention(float[] q, float[] k, float[] v, float[] att, int batch, int seq, boolean causal, int[] keyMask) {
        int heads = c.numHeads(), hd = c.headDim(), d = c.hiddenSize();
        Parallel.forRange(batch * seq * heads, Math.max(1, 4096 / Math.max(1, seq * hd)), (from, to) -> {
            float[] scores = new float[seq];
            for (int task = from; task < to; task++) {
                int b = task / (seq * heads), i = (task / heads) % seq, head = task % heads;
                int rowBase = b * seq;
                int qOff = (rowBase + i) * d + head * hd;
                int visibleKeys = 0;
                for (int j = 0; j < seq; j++) {
                    boolean visible = (!causal || j <= i) && (keyMask == null || keyMask[rowBase + j] != 0);
                    scores[j] = visible ? CpuOps.dot(q, qOff, k, (rowBase + j) * d + head * hd, hd) : Float.NEGATIVE_INFINITY;
                    if (visible) visibleKeys++;
                }
                java.util.Arrays.fill(att, qOff, qOff + hd, 0f);
                if (visibleKeys == 0) continue;                          // a padding row that sees nothing: left at 0
                CpuOps.softmax(scores, 0, seq);
                for (int j = 0; j < seq; j++) {
                    if (scores[j] != 0f) CpuOps.axpy(scores[j], v, (rowBase + j) * d + head * hd, att, qOff, hd);
                }
            }
        });
    }
}
