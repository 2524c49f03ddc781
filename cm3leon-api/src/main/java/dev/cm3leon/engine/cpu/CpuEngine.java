package dev.cm3leon.engine.cpu;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.MappedPages;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCacheBudget;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pure-Java decoder: one forward pass, driven by the config, for every stream of a step. All streams' new tokens
 * are stacked into one activation matrix so that each weight matrix is read once per step; attention then runs per
 * stream against its own cache.
 */
public final class CpuEngine implements Engine {
    private static final Logger LOG = LoggerFactory.getLogger(CpuEngine.class);

    private final ModelConfig c;
    private final MatrixWeights embed, lmHead;
    /** The mapped embedding table when it is only gathered (not also the output head), else null. */
    private final MemorySegment gatheredTable;
    /**
     * Rows gathered between releases of the table's pages. A fault can map a whole large folio (2 MiB seen), so 16
     * rows bound the table's resident share near 32 MiB, and decode pays for one release per 16 steps of a stream
     * (released every step, decode ran ~8 % slower).
     */
    private static final int RELEASE_ROWS = 16;
    private final AtomicInteger rowsSinceRelease = new AtomicInteger();
    private final Layer[] layers;
    private final float[] finalNorm;
    private final RopeTable rope;
    private final Workspace.Pool workspaces;
    /** The most rows one forward pass runs; longer steps run in chunks ({@link EngineOptions#prefillChunk}). */
    private final int maxRows;
    /** Keys and values cached as bf16 rather than f32 (EngineOptions.kvCacheType). */
    private final boolean bf16Cache;
    /** Holds quantized copies of the weights; null when every matrix is a view of the checkpoint. */
    private final Arena arena;
    private final KvCacheBudget kvBudget;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    /** Per-layer weights; the small vectors are copied to the heap. */
    private record Layer(MatrixWeights q, MatrixWeights k, MatrixWeights v, MatrixWeights o,
                         float[] qNormW, float[] qNormB, float[] kNormW, float[] kNormB,
                         MatrixWeights gate, MatrixWeights up, MatrixWeights down,
                         float[] inputNorm, float[] postNorm) {
        MatrixWeights[] qkv() {
            return new MatrixWeights[]{q, k, v};
        }

        Iterable<MatrixWeights> matrices() {
            return List.of(q, k, v, o, gate, up, down);
        }
    }

    public CpuEngine(DecoderWeights w) {
        this(w, EngineOptions.defaults());
    }

    /** Views the weights as stored, or quantizes the float matrices when the options ask for it. */
    public CpuEngine(DecoderWeights w, EngineOptions options) {
        this(w, options, KvCacheBudget.of(options));
    }

    /** With a KV memory budget of the caller's (shared by several engines, say). */
    public CpuEngine(DecoderWeights w, KvCacheBudget kvBudget) {
        this(w, EngineOptions.defaults(), kvBudget);
    }

    private CpuEngine(DecoderWeights w, EngineOptions options, KvCacheBudget kvBudget) {
        this.c = w.config();
        this.kvBudget = kvBudget;
        this.maxRows = options.prefillChunkTokens();
        this.bf16Cache = options.kvCacheElementType() == DType.BF16;
        DType quantization = options.quantization();
        this.arena = quantization == null ? null : Arena.ofShared();
        Map<Tensor, MatrixWeights> made = new IdentityHashMap<>();   // tied embeddings are quantized once
        java.util.function.Function<Tensor, MatrixWeights> matrix = t -> made.computeIfAbsent(t, x -> open(x, quantization));
        try {
            // The embedding table is gathered a row per token, never streamed: quantizing it would save no
            // bandwidth and cost accuracy, and rows that are never used need not become resident, nor be read
            // ahead of the rows used (unless the table is also the output head, which is streamed).
            this.embed = MatrixWeights.of(w.embedTokens());
            boolean gatheredOnly = w.embedTokens().data().address() != w.lmHead().data().address();
            if (gatheredOnly) MappedPages.adviseRandom(w.embedTokens().data());
            this.gatheredTable = gatheredOnly && w.embedTokens().data().isMapped() ? w.embedTokens().data() : null;
            this.lmHead = matrix.apply(w.lmHead());
            this.finalNorm = w.norm().toFloatArray();
            this.layers = w.layers().stream().map(l -> new Layer(
                    matrix.apply(l.qProj()), matrix.apply(l.kProj()), matrix.apply(l.vProj()), matrix.apply(l.oProj()),
                    l.qNormWeight() == null ? null : l.qNormWeight().toFloatArray(),
                    l.qNormBias() == null ? null : l.qNormBias().toFloatArray(),
                    l.kNormWeight() == null ? null : l.kNormWeight().toFloatArray(),
                    l.kNormBias() == null ? null : l.kNormBias().toFloatArray(),
                    matrix.apply(l.gateProj()), matrix.apply(l.upProj()), matrix.apply(l.downProj()),
                    l.inputLayernorm().toFloatArray(), l.postAttentionLayernorm().toFloatArray())).toArray(Layer[]::new);
        } catch (RuntimeException e) {
            if (arena != null) arena.close();
            throw e;
        }
        this.rope = new RopeTable(c.maxPositions(), c.headDim(), c.ropeTheta());
        this.workspaces = new Workspace.Pool(c.hiddenSize(), c.qDim(), c.kvDim(), c.intermediateSize());
    }

    private MatrixWeights open(Tensor t, DType quantization) {
        MatrixWeights m = MatrixWeights.of(t);
        if (quantization == null || m.dtype().isQuantized()) return m;
        if (!m.canQuantize(quantization)) {
            LOG.debug("'{}' stays {}: rows of {} are not whole {} blocks", t.name(), m.dtype(), m.cols(), quantization);
            return m;
        }
        MatrixWeights q = m.quantize(quantization, arena);
        // The source was read once to quantize it; its pages need not stay resident.
        if (t.data().isMapped()) t.data().unload();
        return q;
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public String backendName() {
        return "cpu";
    }

    /** Bytes of weights one decode step reads: every matrix once, the embedding table aside (rows are gathered). */
    public long weightBytesPerStep() {
        long b = lmHead.byteSize();
        for (Layer l : layers) for (MatrixWeights m : l.matrices()) b += m.byteSize();
        return b;
    }

    /** Multiply-adds per token of the matrix products (the embedding gather aside). */
    public long matrixMacsPerToken() {
        long macs = (long) lmHead.rows() * lmHead.cols();
        for (Layer l : layers) for (MatrixWeights m : l.matrices()) macs += (long) m.rows() * m.cols();
        return macs;
    }

    /**
     * FLOPs of one stream's prompt of {@code tokens} tokens whose last position's logits are wanted, as this engine
     * computes it: the last layer does only keys and values for the other positions (an FMA is two FLOPs).
     */
    public double promptFlops(int tokens) {
        double d = c.hiddenSize(), kv = c.kvDim(), q = c.qDim(), ff = c.intermediateSize(), t = tokens;
        double token = 2 * (d * q + 2 * d * kv + q * d + 3 * d * ff);                     // one token, one layer
        double attention = 2 * 2 * c.qDim() * (t * (t + 1) / 2);                        // q·k and p·v, causal
        double lastLayer = (t - 1) * 2 * (2 * d * kv) + token + 2 * 2 * c.qDim() * t;
        return (c.numLayers() - 1) * (t * token + attention) + lastLayer + 2 * d * c.vocabSize();
    }

    /** The storage type of the layers' matrices (the first layer's query projection). */
    public DType weightType() {
        return layers.length == 0 ? lmHead.dtype() : layers[0].q().dtype();
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
            bytes[i] = CpuKvCache.bytes(c.numLayers(), capacities[i], c.kvDim(), bf16Cache);
        }
        String what = capacities.length == 1 ? "a KV cache of " + capacities[0] + " positions"
                : capacities.length + " KV caches of " + Arrays.stream(capacities).asLongStream().sum() + " positions in all";
        List<Runnable> giveBack = kvBudget.reserveAll(bytes, what);
        List<KvCache> caches = new ArrayList<>(capacities.length);
        try {
            for (int i = 0; i < capacities.length; i++) {
                caches.add(new CpuKvCache(this, c.numLayers(), capacities[i], c.kvDim(), bf16Cache, giveBack.get(i)));
            }
            return caches;
        } catch (RuntimeException | Error e) {
            caches.forEach(KvCache::close);
            // The cache that failed returned its own share; the ones never attempted return theirs here.
            for (int i = caches.size() + 1; i < capacities.length; i++) giveBack.get(i).run();
            throw e;
        }
    }

    /** The memory the caches of this engine's requests may hold together, and what they hold now. */
    public KvCacheBudget kvCacheBudget() {
        return kvBudget;
    }

    @Override
    public float[][] forward(List<StreamStep> steps) {
        return forward(steps, null, null);
    }

    @Override
    public float[][] forward(List<StreamStep> steps, int[] groupOfStep) {
        if (groupOfStep != null && groupOfStep.length != steps.size()) {
            throw new IllegalArgumentException(groupOfStep.length + " groups for " + steps.size() + " steps");
        }
        return forward(steps, groupOfStep, null);
    }

    float[][] forward(List<StreamStep> steps, ActivationProbe probe) {
        return forward(steps, null, probe);
    }

    /** Observes intermediate activations (tests compare them with the reference's). */
    interface ActivationProbe {
        void embeddings(float[] x, int rows);

        void layerOutput(int layer, float[] x, int rows);

        void finalNorm(float[] x, int rows);
    }

    private float[][] forward(List<StreamStep> steps, int[] groupOfStep, ActivationProbe probe) {
        Batch b = Batch.of(this, steps, groupOfStep);    // checks every stream before any cache is written
        // A probe sees one pass: tests compare its activations with the reference's for the whole prompt.
        if (b.rows() > maxRows && probe == null) return forwardInChunks(steps, groupOfStep);
        return forwardPass(steps, b, probe);
    }

    /**
     * Runs a step of more than {@link #maxRows} tokens as consecutive passes of at most that many, each stream's
     * tokens in order: what a pass appends to the caches, the next one attends to, so the logits are those of one
     * pass, while the activations held are a chunk's. Streams share a pass while it has room.
     */
    private float[][] forwardInChunks(List<StreamStep> steps, int[] groupOfStep) {
        int s = steps.size();
        int[] done = new int[s];
        float[][] out = new float[s][];
        int[][] tokens = new int[s][];
        for (int i = 0; i < s; i++) {
            tokens[i] = steps.get(i).tokens();
            if (steps.get(i).logits() == StreamStep.Logits.ALL) out[i] = new float[steps.get(i).tokenCount() * c.vocabSize()];
        }
        while (true) {
            List<StreamStep> chunk = new ArrayList<>();
            int[] streamOf = new int[s], firstToken = new int[s];
            int room = maxRows;
            for (int i = 0; i < s && room > 0; i++) {
                StreamStep st = steps.get(i);
                int left = st.tokenCount() - done[i];
                if (left == 0) continue;
                int take = Math.min(left, room);
                boolean last = take == left;
                StreamStep.Logits logits = switch (st.logits()) {
                    case ALL -> StreamStep.Logits.ALL;
                    case LAST -> last ? StreamStep.Logits.LAST : StreamStep.Logits.NONE;
                    case NONE -> StreamStep.Logits.NONE;
                };
                streamOf[chunk.size()] = i;
                firstToken[chunk.size()] = done[i];
                chunk.add(new StreamStep(st.cache(), Arrays.copyOfRange(tokens[i], done[i], done[i] + take), logits));
                done[i] += take;
                room -= take;
            }
            if (chunk.isEmpty()) return out;
            // A long prompt takes a while; an interrupted request stops between passes.
            if (Thread.currentThread().isInterrupted()) {
                throw new CancellationException("the thread was interrupted between prefill chunks");
            }
            int[] chunkGroups = null;
            if (groupOfStep != null) {
                chunkGroups = new int[chunk.size()];
                for (int j = 0; j < chunkGroups.length; j++) chunkGroups[j] = groupOfStep[streamOf[j]];
            }
            float[][] part = forwardPass(chunk, Batch.of(this, chunk, chunkGroups), null);
            for (int j = 0; j < chunk.size(); j++) {
                int i = streamOf[j];
                if (part[j] == null) continue;
                if (steps.get(i).logits() == StreamStep.Logits.ALL) {
                    System.arraycopy(part[j], 0, out[i], firstToken[j] * c.vocabSize(), part[j].length);
                } else {
                    out[i] = part[j];
                }
            }
        }
    }

    private float[][] forwardPass(List<StreamStep> steps, Batch b, ActivationProbe probe) {
        Workspace ws = workspaces.take(b.rows());
        try {
            return forward(steps, b, ws, probe);
        } finally {
            workspaces.give(ws);
        }
    }

    private float[][] forward(List<StreamStep> steps, Batch b, Workspace ws, ActivationProbe probe) {
        int d = c.hiddenSize(), qDim = c.qDim(), kvDim = c.kvDim(), ff = c.intermediateSize();
        int n = b.rows();
        float[] x = ws.x, xn = ws.xn, q = ws.q, k = ws.k, v = ws.v, att = ws.att, proj = ws.proj, gate = ws.gate, up = ws.up;
        for (int r = 0; r < n; r++) embed.copyRow(b.tokens[r], x, r * d);
        // The rows are copied; release the table's pages from this process (they stay in the page cache). A fault
        // on a file whose cache holds large folios, one just written or downloaded, maps a whole folio per row, and
        // a long prompt or generation would otherwise leave the whole table resident.
        if (gatheredTable != null && rowsSinceRelease.addAndGet(n) >= RELEASE_ROWS) {
            rowsSinceRelease.set(0);
            gatheredTable.unload();
        }
        if (probe != null) probe.embeddings(x, n);

        float eps = (float) c.rmsNormEps();
        int[] queryRows = Batch.identity(n);   // the rows that go on past the KV append: all but in the last layer
        for (int li = 0; li < layers.length; li++) {
            Layer L = layers[li];
            // The last layer only needs keys and values of rows whose logits nobody asked for.
            boolean compact = li == layers.length - 1 && b.wanted.length < n;
            // attention block
            float[] attnIn = x;
            if (!c.swinNorm()) {
                CpuOps.rmsNorm(x, L.inputNorm, eps, n, d, xn);
                attnIn = xn;
            }
            if (compact) {
                queryRows = b.wanted;
                b.rowKernels.matmul(attnIn, new MatrixWeights[]{L.k, L.v}, new float[][]{k, v});
                b.wantedKernels.matmul(Batch.gather(attnIn, d, queryRows), L.q, q);
            } else {
                b.rowKernels.matmul(attnIn, L.qkv(), new float[][]{q, k, v});
            }
            int m = queryRows.length;
            if (L.qNormW != null) {
                float qkEps = (float) ModelConfig.QK_NORM_EPS;
                CpuOps.headLayerNorm(q, m, c.numHeads(), c.headDim(), L.qNormW, L.qNormB, qkEps);
                CpuOps.headLayerNorm(k, n, c.numKvHeads(), c.headDim(), L.kNormW, L.kNormB, qkEps);
            }
            for (int i = 0; i < m; i++) rotate(q, i * qDim, c.numHeads(), b.posOf[queryRows[i]]);
            for (int r = 0; r < n; r++) {
                rotate(k, r * kvDim, c.numKvHeads(), b.posOf[r]);
                b.caches[b.streamOf[r]].put(li, b.posOf[r], k, r * kvDim, v, r * kvDim);
            }
            attention(li, q, att, queryRows, b);
            RowKernels kernels = b.rowKernels;
            if (compact) {
                x = Batch.gather(x, d, queryRows);
                n = m;
                kernels = b.wantedKernels;
            }
            kernels.matmul(att, L.o, proj);
            if (c.swinNorm()) CpuOps.rmsNorm(proj, L.inputNorm, eps, n, d, proj);
            CpuOps.add(x, proj, n * d);                                   // h = x + attn

            // MLP block
            float[] mlpIn = x;
            if (!c.swinNorm()) {
                CpuOps.rmsNorm(x, L.postNorm, eps, n, d, xn);
                mlpIn = xn;
            }
            kernels.matmul(mlpIn, new MatrixWeights[]{L.gate, L.up}, new float[][]{gate, up});
            CpuOps.swiglu(gate, up, n * ff);
            kernels.matmul(gate, L.down, proj);
            if (c.swinNorm()) CpuOps.rmsNorm(proj, L.postNorm, eps, n, d, proj);
            CpuOps.add(x, proj, n * d);                                   // y = h + mlp
            if (probe != null) probe.layerOutput(li, x, n);
        }
        for (int i = 0; i < steps.size(); i++) b.caches[i].advance(steps.get(i).tokenCount());
        boolean compacted = queryRows == b.wanted && b.wanted.length < b.rows();
        return logits(b, compacted ? x : Batch.gather(x, d, b.wanted), probe);
    }

    private void rotate(float[] x, int off, int heads, int pos) {
        RopeTable.Angles a = rope.upTo(pos + 1);
        if (c.interleavedRope()) CpuOps.ropeInterleaved(x, off, heads, c.headDim(), a.cos(), a.sin(), pos * rope.half);
        else CpuOps.ropeRotateHalf(x, off, heads, c.headDim(), a.cos(), a.sin(), pos * rope.half);
    }

    /** Final norm and lm_head for the wanted rows [wanted, d], split per stream. */
    private float[][] logits(Batch b, float[] rows, ActivationProbe probe) {
        int d = c.hiddenSize(), vocab = c.vocabSize();
        int wanted = b.wanted.length;
        float[][] out = new float[b.caches.length][];
        if (wanted == 0) return out;
        CpuOps.rmsNorm(rows, finalNorm, (float) c.rmsNormEps(), wanted, d, rows);
        if (probe != null) probe.finalNorm(rows, wanted);
        float[] all = new float[wanted * vocab];
        b.wantedKernels.matmul(rows, lmHead, all);
        int w = 0;
        for (int i = 0; i < out.length; i++) {
            int count = b.logitRows[i];
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
     * Each query row against its stream's cache (already holding this step's keys). Rows of a prompt (a stream's step
     * of at least {@link MatrixWeights#BLOCKED_MIN_ROWS} tokens, as for the products) go {@link CausalAttention#QUERY_BLOCK}
     * consecutive queries and one head at a time through {@link CausalAttention#attendQueries}; any other row (a
     * decode step, a short verification window) goes all heads at once through {@link CausalAttention#attendPiece}, in
     * pieces of {@link CausalAttention#PIECE_POSITIONS} positions, so a long context splits across threads and each
     * piece reads the cache front to back. Parallel over both kinds of task.
     */
    private void attention(int layer, float[] q, float[] att, int[] queryRows, Batch b) {
        int heads = c.numHeads(), hd = c.headDim(), kvDim = c.kvDim(), qDim = c.qDim();
        int group = heads / c.numKvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        int[] stepRows = new int[b.caches.length];
        for (int st : b.streamOf) stepRows[st]++;
        List<PromptRun> runs = new ArrayList<>();
        List<DecodeRow> decodeRows = new ArrayList<>();
        List<Piece> pieces = new ArrayList<>();
        for (int i = 0; i < queryRows.length; ) {
            int st = b.streamOf[queryRows[i]], end = i + 1;
            if (stepRows[st] >= MatrixWeights.BLOCKED_MIN_ROWS) {
                while (end < queryRows.length && end - i < CausalAttention.QUERY_BLOCK && b.streamOf[queryRows[end]] == st
                        && queryRows[end] == queryRows[end - 1] + 1) end++;
                runs.add(new PromptRun(i, end - i, b.caches[st]));
            } else {
                DecodeRow row = new DecodeRow(i, decodeRows.size(), pieces.size(), b.caches[st]);
                decodeRows.add(row);
                int ctx = b.posOf[queryRows[i]] + 1;
                for (int p0 = 0; p0 < ctx; p0 += CausalAttention.PIECE_POSITIONS) {
                    pieces.add(new Piece(row, p0, Math.min(ctx, p0 + CausalAttention.PIECE_POSITIONS)));
                }
            }
            i = end;
        }
        // Decode rows' queries, each in the order its cache's pieces read it: rearranged once, not once per piece.
        float[] decodeQ = new float[decodeRows.size() * qDim];
        for (DecodeRow row : decodeRows) {
            if (CausalAttention.inPairOrder(row.cache.bf16(), hd)) {
                CausalAttention.toPairOrder(q, row.index * qDim, heads * hd, hd, decodeQ, row.slot * qDim);
            } else {
                System.arraycopy(q, row.index * qDim, decodeQ, row.slot * qDim, heads * hd);
            }
        }
        int pieceSize = CausalAttention.pieceSize(heads, hd), promptTasks = runs.size() * heads;
        float[] partial = new float[pieces.size() * pieceSize];
        Parallel.forRange(promptTasks + pieces.size(), 1, (from, to) -> {
            float[] scratch = null, scores = null;
            int[] ctx = new int[CausalAttention.QUERY_BLOCK];
            for (int task = from; task < to; task++) {
                if (task < promptTasks) {
                    PromptRun run = runs.get(task / heads);
                    int h = task % heads, i = run.first;
                    if (scratch == null) scratch = CausalAttention.queryScratch(hd);
                    for (int g = 0; g < run.count; g++) ctx[g] = b.posOf[queryRows[i + g]] + 1;
                    CausalAttention.attendQueries(q, i * qDim + h * hd, qDim, run.count, ctx, run.cache.keys(layer),
                            run.cache.values(layer), (h / group) * hd, kvDim, hd, scale, att, i * qDim + h * hd, scratch,
                            run.cache.bf16());
                } else {
                    int p = task - promptTasks;
                    Piece piece = pieces.get(p);
                    CpuKvCache cache = piece.row.cache;
                    if (scores == null) scores = CausalAttention.pieceScratch(heads);
                    CausalAttention.attendPiece(decodeQ, piece.row.slot * qDim, heads, group, hd, cache.keys(layer),
                            cache.values(layer), kvDim, piece.p0, piece.p1, scale, cache.bf16(), partial, p * pieceSize, scores);
                }
            }
        });
        for (DecodeRow row : decodeRows) {
            int count = (b.posOf[queryRows[row.index]] + CausalAttention.PIECE_POSITIONS) / CausalAttention.PIECE_POSITIONS;
            CausalAttention.mergePieces(partial, row.firstPiece * pieceSize, count, heads, hd,
                    CausalAttention.inPairOrder(row.cache.bf16(), hd), att, row.index * qDim);
        }
    }

    /** {@code count} consecutive prompt rows of one stream, from row {@code first} of the pass's query rows. */
    private record PromptRun(int first, int count, CpuKvCache cache) {
    }

    /** Row {@code index} of the pass's query rows, the {@code slot}-th decode row; its pieces start at {@code firstPiece}. */
    private record DecodeRow(int index, int slot, int firstPiece, CpuKvCache cache) {
    }

    /** Positions [p0, p1) of a decode row's attention. */
    private record Piece(DecodeRow row, int p0, int p1) {
    }

    @Override
    public void close() {
        // Views of the checkpoint are its owner's to close; quantized copies are this engine's.
        if (arena != null && closed.compareAndSet(false, true)) arena.close();
    }
}
