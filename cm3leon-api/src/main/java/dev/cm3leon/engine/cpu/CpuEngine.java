package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCacheBudget;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;

/**
 * The pure-Java decoder: one forward pass, driven by the config, for every stream of a step. All streams' new tokens
 * are stacked into one activation matrix so that each weight matrix is read once per step; attention then runs per
 * stream against its own cache.
 */
public final class CpuEngine implements Engine {
    private final ModelConfig c;
    private final MatrixWeights embed, lmHead;
    private final Layer[] layers;
    private final float[] finalNorm;
    /** RoPE angles for the positions used so far; a config may declare millions, so the table grows on demand. */
    private volatile RopeTable rope;
    private final KvCacheBudget kvBudget;

    /** Per-layer weights: matrices stay views of the checkpoint; the small vectors are copied to the heap. */
    private record Layer(MatrixWeights q, MatrixWeights k, MatrixWeights v, MatrixWeights o,
                         float[] qNormW, float[] qNormB, float[] kNormW, float[] kNormB,
                         MatrixWeights gate, MatrixWeights up, MatrixWeights down,
                         float[] inputNorm, float[] postNorm) {
    }

    public CpuEngine(DecoderWeights w) {
        this(w, KvCacheBudget.of(EngineOptions.defaults()));
    }

    public CpuEngine(DecoderWeights w, KvCacheBudget kvBudget) {
        this.c = w.config();
        this.kvBudget = kvBudget;
        this.embed = MatrixWeights.of(w.embedTokens());
        this.lmHead = MatrixWeights.of(w.lmHead());
        this.finalNorm = w.norm().toFloatArray();
        this.layers = w.layers().stream().map(l -> new Layer(
                MatrixWeights.of(l.qProj()), MatrixWeights.of(l.kProj()), MatrixWeights.of(l.vProj()), MatrixWeights.of(l.oProj()),
                l.qNormWeight() == null ? null : l.qNormWeight().toFloatArray(),
                l.qNormBias() == null ? null : l.qNormBias().toFloatArray(),
                l.kNormWeight() == null ? null : l.kNormWeight().toFloatArray(),
                l.kNormBias() == null ? null : l.kNormBias().toFloatArray(),
                MatrixWeights.of(l.gateProj()), MatrixWeights.of(l.upProj()), MatrixWeights.of(l.downProj()),
                l.inputLayernorm().toFloatArray(), l.postAttentionLayernorm().toFloatArray())).toArray(Layer[]::new);
        this.rope = new RopeTable(Math.min(c.maxPositions(), 4096), c.headDim(), c.ropeTheta());
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public String backendName() {
        return "cpu";
    }

    @Override
    public KvCache newCache(int capacity) {
        return newCaches(capacity).getFirst();
    }

    @Override
    public List<KvCache> newCaches(int... capacities) {
        long[] bytes = new long[capacities.length];
        for (int i = 0; i < capacities.length; i++) {
            if (capacities[i] < 1 || capacities[i] > c.maxPositions()) {
                throw new Cm3LeonException("a KV cache of " + capacities[i] + " positions does not fit the model's context of "
                        + c.maxPositions());
            }
            bytes[i] = CpuKvCache.bytes(c.numLayers(), capacities[i], c.kvDim());
        }
        String what = capacities.length == 1 ? "a KV cache of " + capacities[0] + " positions"
                : capacities.length + " KV caches of " + Arrays.stream(capacities).asLongStream().sum() + " positions in all";
        List<Runnable> giveBack = kvBudget.reserveAll(bytes, what);
        List<KvCache> caches = new ArrayList<>(capacities.length);
        try {
            for (int i = 0; i < capacities.length; i++) {
                caches.add(new CpuKvCache(this, c.numLayers(), capacities[i], c.kvDim(), giveBack.get(i)));
            }
            return caches;
        } catch (RuntimeException | Error e) {
            caches.forEach(KvCache::close);
            // The cache that failed returned its own share; the ones never attempted return theirs here.
            for (int i = caches.size() + 1; i < capacities.length; i++) giveBack.get(i).run();
            throw e;
        }
    }

    /** A table covering positions {@code [0, positions)}, doubling the current one (up to the context) when short. */
    private RopeTable ropeUpTo(int positions) {
        RopeTable t = rope;
        if ((long) positions * t.half <= t.cos.length) return t;
        synchronized (this) {
            t = rope;
            if ((long) positions * t.half > t.cos.length) {
                long doubled = Math.max(positions, 2L * t.cos.length / t.half);
                t = new RopeTable((int) Math.min(c.maxPositions(), doubled), c.headDim(), c.ropeTheta());
                rope = t;
            }
            return t;
        }
    }

    /** The memory the caches of this engine's requests may hold together, and what they hold now. */
    public KvCacheBudget kvCacheBudget() {
        return kvBudget;
    }

    @Override
    public float[][] forward(List<StreamStep> steps) {
        return forward(steps, null);
    }

    /** Observes intermediate activations (tests compare them with the reference's). */
    interface ActivationProbe {
        void embeddings(float[] x, int rows);

        void layerOutput(int layer, float[] x, int rows);

        void finalNorm(float[] x, int rows);
    }

    float[][] forward(List<StreamStep> steps, ActivationProbe probe) {
        int d = c.hiddenSize(), qDim = c.qDim(), kvDim = c.kvDim(), ff = c.intermediateSize();
        int s = steps.size();
        CpuKvCache[] caches = new CpuKvCache[s];
        int[] rowStart = new int[s + 1];
        IdentityHashMap<KvCache, Boolean> seen = new IdentityHashMap<>();
        for (int i = 0; i < s; i++) {
            StreamStep st = steps.get(i);
            if (!(st.cache() instanceof CpuKvCache cc) || cc.owner != this) {
                throw new IllegalArgumentException("stream " + i + ": the cache was not made by this engine");
            }
            if (cc.isClosed()) throw new IllegalStateException("stream " + i + ": the cache was closed");
            if (seen.put(cc, Boolean.TRUE) != null) throw new IllegalArgumentException("stream " + i + ": cache used twice in one step");
            if (cc.length() + st.tokenCount() > cc.capacity()) {
                throw new Cm3LeonException("stream " + i + ": " + cc.length() + " cached + " + st.tokenCount()
                        + " new tokens exceed the cache capacity of " + cc.capacity());
            }
            caches[i] = cc;
            rowStart[i + 1] = rowStart[i] + st.tokenCount();
        }
        int n = rowStart[s];
        int lastPosition = 0;
        for (int i = 0; i < s; i++) lastPosition = Math.max(lastPosition, caches[i].length() + steps.get(i).tokenCount());
        RopeTable angles = ropeUpTo(lastPosition);
        int[] tokens = new int[n];
        int[] streamOf = new int[n];
        int[] posOf = new int[n];
        for (int i = 0; i < s; i++) {
            int[] t = steps.get(i).tokens();
            for (int j = 0; j < t.length; j++) {
                int row = rowStart[i] + j;
                if (t[j] < 0 || t[j] >= c.vocabSize()) {
                    throw new Cm3LeonException("stream " + i + ": token id " + t[j] + " is outside the vocabulary of " + c.vocabSize());
                }
                tokens[row] = t[j];
                streamOf[row] = i;
                posOf[row] = caches[i].length() + j;
            }
        }

        float[] x = new float[n * d];          // residual stream [n, d]
        float[] xn = new float[n * d];         // normed input [n, d]
        float[] q = new float[n * qDim];       // [n, heads·headDim]
        float[] k = new float[n * kvDim];      // [n, kvHeads·headDim]
        float[] v = new float[n * kvDim];
        float[] att = new float[n * qDim];     // attention output [n, heads·headDim]
        float[] proj = new float[n * d];       // o_proj / down_proj output [n, d]
        float[] gate = new float[n * ff];      // [n, ff]
        float[] up = new float[n * ff];
        for (int r = 0; r < n; r++) embed.copyRow(tokens[r], x, r * d);
        if (probe != null) probe.embeddings(x, n);

        float eps = (float) c.rmsNormEps();
        float qkEps = (float) ModelConfig.QK_NORM_EPS;
        for (int li = 0; li < layers.length; li++) {
            Layer L = layers[li];
            // attention block
            float[] attnIn = x;
            if (!c.swinNorm()) {
                CpuOps.rmsNorm(x, L.inputNorm, eps, n, d, xn);
                attnIn = xn;
            }
            L.q.matmul(attnIn, n, q);
            L.k.matmul(attnIn, n, k);
            L.v.matmul(attnIn, n, v);
            if (L.qNormW != null) {
                CpuOps.headLayerNorm(q, n, c.numHeads(), c.headDim(), L.qNormW, L.qNormB, qkEps);
                CpuOps.headLayerNorm(k, n, c.numKvHeads(), c.headDim(), L.kNormW, L.kNormB, qkEps);
            }
            for (int r = 0; r < n; r++) {
                int csOff = posOf[r] * angles.half;
                CpuOps.ropeRotateHalf(q, r * qDim, c.numHeads(), c.headDim(), angles.cos, angles.sin, csOff);
                CpuOps.ropeRotateHalf(k, r * kvDim, c.numKvHeads(), c.headDim(), angles.cos, angles.sin, csOff);
                float[] kc = caches[streamOf[r]].keys(li), vc = caches[streamOf[r]].values(li);
                System.arraycopy(k, r * kvDim, kc, posOf[r] * kvDim, kvDim);
                System.arraycopy(v, r * kvDim, vc, posOf[r] * kvDim, kvDim);
            }
            attention(li, q, att, n, streamOf, posOf, caches);
            L.o.matmul(att, n, proj);
            if (c.swinNorm()) CpuOps.rmsNorm(proj, L.inputNorm, eps, n, d, proj);
            CpuOps.add(x, proj, n * d);                                   // h = x + attn

            // MLP block
            float[] mlpIn = x;
            if (!c.swinNorm()) {
                CpuOps.rmsNorm(x, L.postNorm, eps, n, d, xn);
                mlpIn = xn;
            }
            L.gate.matmul(mlpIn, n, gate);
            L.up.matmul(mlpIn, n, up);
            CpuOps.swiglu(gate, up, n * ff);
            L.down.matmul(gate, n, proj);
            if (c.swinNorm()) CpuOps.rmsNorm(proj, L.postNorm, eps, n, d, proj);
            CpuOps.add(x, proj, n * d);                                   // y = h + mlp
            if (probe != null) probe.layerOutput(li, x, n);
        }
        for (int i = 0; i < s; i++) caches[i].advance(steps.get(i).tokenCount());
        return logits(steps, rowStart, x, probe);
    }

    /** Final norm and lm_head only for the rows whose logits were asked for. */
    private float[][] logits(List<StreamStep> steps, int[] rowStart, float[] x, ActivationProbe probe) {
        int d = c.hiddenSize(), vocab = c.vocabSize();
        int s = steps.size();
        int wanted = 0;
        for (int i = 0; i < s; i++) {
            wanted += switch (steps.get(i).logits()) {
                case NONE -> 0;
                case LAST -> 1;
                case ALL -> steps.get(i).tokenCount();
            };
        }
        float[][] out = new float[s][];
        if (wanted == 0) return out;
        float[] rows = new float[wanted * d];
        int w = 0;
        for (int i = 0; i < s; i++) {
            StreamStep st = steps.get(i);
            switch (st.logits()) {
                case NONE -> { }
                case LAST -> System.arraycopy(x, (rowStart[i + 1] - 1) * d, rows, (w++) * d, d);
                case ALL -> {
                    System.arraycopy(x, rowStart[i] * d, rows, w * d, st.tokenCount() * d);
                    w += st.tokenCount();
                }
            }
        }
        CpuOps.rmsNorm(rows, finalNorm, (float) c.rmsNormEps(), wanted, d, rows);
        if (probe != null) probe.finalNorm(rows, wanted);
        float[] all = new float[wanted * vocab];
        lmHead.matmul(rows, wanted, all);
        w = 0;
        for (int i = 0; i < s; i++) {
            int count = switch (steps.get(i).logits()) {
                case NONE -> 0;
                case LAST -> 1;
                case ALL -> steps.get(i).tokenCount();
            };
            if (count == 0) continue;
            if (wanted == count) {
                out[i] = all;
            } else {
                out[i] = new float[count * vocab];
                System.arraycopy(all, w * vocab, out[i], 0, count * vocab);
            }
            w += count;
        }
        return out;
    }

    /**
     * Causal attention of every new row against its stream's cache (already holding this step's keys). Scores for one
     * (row, head) live in a scratch array of the row's context length; parallel over rows × heads.
     */
    private void attention(int layer, float[] q, float[] att, int n, int[] streamOf, int[] posOf, CpuKvCache[] caches) {
        int heads = c.numHeads(), hd = c.headDim(), kvDim = c.kvDim(), qDim = c.qDim();
        int group = heads / c.numKvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        Parallel.forRange(n * heads, 1, (from, to) -> {
            float[] scores = null;
            for (int task = from; task < to; task++) {
                int r = task / heads, h = task % heads;
                int ctx = posOf[r] + 1;
                if (scores == null || scores.length < ctx) scores = new float[Math.max(ctx, 64)];
                float[] kc = caches[streamOf[r]].keys(layer), vc = caches[streamOf[r]].values(layer);
                int qOff = r * qDim + h * hd;
                int kvOff = (h / group) * hd;
                for (int j = 0; j < ctx; j++) scores[j] = CpuOps.dot(q, qOff, kc, j * kvDim + kvOff, hd) * scale;
                CpuOps.softmax(scores, 0, ctx);
                java.util.Arrays.fill(att, qOff, qOff + hd, 0f);
                for (int j = 0; j < ctx; j++) CpuOps.axpy(scores[j], vc, j * kvDim + kvOff, att, qOff, hd);
            }
        });
    }

    @Override
    public void close() {
        // Weights are views of the checkpoint, which its owner closes; caches are closed by their requests.
    }
}
