package dev.cm3leon.cuda;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.DeviceSampling;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.TokenDraw;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The decoder on a GPU: the CPU engine's forward pass (the reference its tests compare with), with the streams of a
 * step stacked into one batch of rows so that every weight is read once per step. Projections are cuBLAS GemmEx
 * for prefill and the skinny-product kernel for decode; norms, QK-norm + RoPE + cache append, attention and SwiGLU
 * are the kernels of cm3leon-kernels. Decode steps of up to 8 streams are captured once per shape as a CUDA graph
 * and replayed. {@link #forwardAndDraw} also picks the next tokens on the device.
 */
public final class CudaEngine implements Engine, DeviceSampling {
    private static final Logger LOG = LoggerFactory.getLogger(CudaEngine.class);

    private final Device device;
    private final boolean ownsDevice;
    private final ModelConfig c;
    private final DeviceWeights w;
    private final ElementType t;
    private final Arena arena = Arena.ofShared();
    private final Kernels k;
    private final Device.Blas blas;
    private final boolean wmma, graphsEnabled;
    private final Map<GraphKey, Device.Graph> graphs = new HashMap<>();
    private final Set<GraphKey> seenShapes = new HashSet<>();
    private Workspace ws;
    private boolean closed;

    private record GraphKey(int rows, int wanted, int draws, int splits) {
    }

    public CudaEngine(Device device, DecoderWeights weights, EngineOptions options, boolean ownsDevice) {
        this.c = weights.config();
        if (Arrays.stream(Kernels.HEAD_DIMS).noneMatch(d -> d == c.headDim())) {
            throw new Cm3LeonException("head dimension " + c.headDim() + " is not supported by the CUDA kernels (built for "
                    + Arrays.toString(Kernels.HEAD_DIMS) + ")");
        }
        this.device = device;
        this.ownsDevice = ownsDevice;
        this.w = new DeviceWeights(device, weights, options.castToBf16());
        this.t = w.type;
        this.k = new Kernels(device, arena);
        this.blas = device.blas();
        int hd = c.headDim();
        this.wmma = t == ElementType.BF16 && (hd == 64 || hd == 128)
                && device.maxSharedMemoryPerBlock() >= Kernels.wmmaSharedBytes(hd)
                && !Boolean.getBoolean("cm3leon.cuda.noTensorCoreAttention");
        this.graphsEnabled = !"false".equals(System.getProperty("cm3leon.cuda.graphs"));
        LOG.debug("CUDA engine on {}: {} weights ({} MiB per decode step), {} prefill attention, {} skinny product, graphs {}",
                device.description(), t, w.bytesPerStep >> 20, wmma ? "tensor-core" : "CUDA-core", k.gemvKernel(),
                graphsEnabled ? "on" : "off");
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public String backendName() {
        return "cuda";
    }

    public Device device() {
        return device;
    }

    /** The element type of matrices, their inputs and the KV cache. */
    public ElementType elementType() {
        return t;
    }

    /** Bytes of weights one decode step reads. */
    public long bytesPerStep() {
        return w.bytesPerStep;
    }

    @Override
    public KvCache newCache(int capacity) {
        if (capacity < 1 || capacity > c.maxPositions()) {
            throw new Cm3LeonException("a KV cache of " + capacity + " positions does not fit the model's context of " + c.maxPositions());
        }
        synchronized (this) {
            ensureOpen();
            return new CudaKvCache(this, device, c.numLayers(), capacity, c.kvDim(), t);
        }
    }

    /** Frees a closed cache's memory, never in the middle of a step. */
    synchronized void release(DeviceBuffer arena) {
        arena.close();
    }

    @Override
    public synchronized float[][] forward(List<StreamStep> steps) {
        ensureOpen();
        StepPlan p = plan(steps, List.of());
        execute(p, false);
        int vocab = c.vocabSize();
        MemorySegment host = ws.hostLogits.asSlice(0, 4L * p.wanted * vocab);
        if (p.wanted > 0) device.downloadAsync(host, ws.logits.pointer());
        device.synchronize();
        advance(p);
        float[][] out = new float[p.streams][];
        for (int s = 0; s < p.streams; s++) {
            int count = StepPlan.logitCount(steps.get(s));
            if (count == 0) continue;
            out[s] = new float[count * vocab];
            MemorySegment.copy(host, JAVA_FLOAT, 4L * p.logitStart[s] * vocab, out[s], 0, count * vocab);
        }
        return out;
    }

    @Override
    public synchronized int[] forwardAndDraw(List<StreamStep> steps, List<TokenDraw> draws) {
        ensureOpen();
        if (draws.isEmpty()) throw new IllegalArgumentException("forwardAndDraw needs at least one draw");
        StepPlan p = plan(steps, draws);
        execute(p, true);
        MemorySegment host = ws.hostTokens.asSlice(0, 4L * p.draws);
        device.downloadAsync(host, ws.tokens.pointer());
        device.synchronize();
        advance(p);
        return host.toArray(JAVA_INT);
    }

    private StepPlan plan(List<StreamStep> steps, List<TokenDraw> draws) {
        return new StepPlan(this, c, List.copyOf(steps), List.copyOf(draws), wmma ? Kernels.WMMA_TILE : Kernels.PREFILL_TILE);
    }

    private void advance(StepPlan p) {
        for (int s = 0; s < p.streams; s++) p.caches[s].advance(p.steps.get(s).tokenCount());
    }

    /** Enough splits of the context that decode attention has about two blocks per multiprocessor. */
    private int decodeSplits(int rows) {
        int blocks = rows * c.numHeads();
        return Math.max(1, Math.min(64, (2 * device.multiprocessors() + blocks - 1) / blocks));
    }

    private void execute(StepPlan p, boolean sample) {
        int splits = p.decodeOnly ? decodeSplits(p.n) : 1;
        ensureWorkspace(p, splits);
        p.write(ws.hostDescriptor);
        device.uploadAsync(ws.descriptor.pointer(), ws.hostDescriptor.asSlice(0, p.bytes));
        if (graphsEnabled && p.decodeOnly && p.n <= Kernels.GEMV_MAX_ROWS) {
            GraphKey key = new GraphKey(p.n, p.wanted, sample ? p.draws : -1, splits);
            // The first step of a shape runs launch by launch, so every kernel is loaded before any capture; the
            // second is captured. A null graph means this device cannot capture.
            if (graphs.containsKey(key)) {
                Device.Graph g = graphs.get(key);
                if (g == null) {
                    body(p, sample, splits);
                } else {
                    g.launch();
                }
                return;
            }
            if (!seenShapes.add(key)) {
                Device.Graph g = device.capture(() -> body(p, sample, splits));
                graphs.put(key, g);
                if (g != null) {
                    g.launch();
                    return;
                }
            }
        }
        body(p, sample, splits);
    }

    /** The forward pass as a flat list of launches; every per-step value comes from the descriptor on the device. */
    private void body(StepPlan p, boolean sample, int splits) {
        int n = p.n, d = c.hiddenSize(), qDim = c.qDim(), kvDim = c.kvDim(), ff = c.intermediateSize(), vocab = c.vocabSize();
        int heads = c.numHeads(), kvHeads = c.numKvHeads(), hd = c.headDim(), layers = w.layers.size();
        float eps = (float) c.rmsNormEps(), qkEps = (float) ModelConfig.QK_NORM_EPS;
        boolean swin = c.swinNorm();
        long desc = ws.descriptor.pointer();
        long tokens = desc + p.tokensAt, rowPos = desc + p.rowPosAt, rowStream = desc + p.rowStreamAt;
        long streamKv = desc + p.streamKvAt, streamCap = desc + p.streamCapAt, logitRows = desc + p.logitRowsAt;
        long tiles = desc + p.tilesAt, draws = desc + p.drawsAt;
        long x = ws.x.pointer(), xn = ws.xn.pointer(), qkv = ws.qkv.pointer(), att = ws.att.pointer();
        long proj = ws.proj.pointer(), gu = ws.gu.pointer(), h = ws.h.pointer();
        // What the projections read: the normed residual (pre-norm), or the residual itself in T (swin-norm).
        long in = swin && t == ElementType.F32 ? x : xn;
        long xCast = t == ElementType.BF16 ? xn : 0L;

        k.embedding(t, w.embed.pointer(), tokens, n, d, x);                                        // x [n, d] f32
        if (!swin) k.rmsnorm(t, x, w.layers.get(0).inputNorm().pointer(), 0L, xn, n, d, eps);     // xn [n, d] T
        else if (t == ElementType.BF16) k.toBf16(x, xn, (long) n * d);
        for (int l = 0; l < layers; l++) {
            DeviceWeights.Layer L = w.layers.get(l);
            linear(L.qkv(), in, qkv, n, qDim + 2 * kvDim, d, false);                               // qkv [n, qDim + 2·kvDim] f32
            k.qkNormRope(t, qkv, heads, kvHeads, hd, DeviceWeights.pointer(L.qNormW()), DeviceWeights.pointer(L.qNormB()),
                    DeviceWeights.pointer(L.kNormW()), DeviceWeights.pointer(L.kNormB()), qkEps, w.ropeCos.pointer(),
                    w.ropeSin.pointer(), rowPos, rowStream, streamKv, streamCap, l, n);            // q in place; k, v → caches
            if (p.decodeOnly) {
                k.attentionDecode(t, hd, qkv, rowPos, rowStream, streamKv, streamCap, l, heads, kvHeads,
                        ws.partial.pointer(), splits, att, n);                                     // att [n, qDim] T
            } else if (wmma) {
                k.attentionPrefillWmma(hd, qkv, tiles, p.tiles, streamKv, streamCap, l, heads, kvHeads, att);
            } else {
                k.attentionPrefill(t, hd, qkv, tiles, p.tiles, streamKv, streamCap, l, heads, kvHeads, att);
            }
            if (swin) {
                linear(L.o(), att, proj, n, d, qDim, false);                                       // proj [n, d] f32
                k.rmsnormResidual(t, proj, L.inputNorm().pointer(), x, xCast, n, d, eps);         // x += norm(proj)
            } else {
                linear(L.o(), att, x, n, d, qDim, true);                                           // x += o·att
                k.rmsnorm(t, x, L.postNorm().pointer(), 0L, xn, n, d, eps);                        // xn [n, d] T
            }
            linear(L.gateUp(), in, gu, n, 2 * ff, d, false);                                       // gu [n, 2·ff] f32
            k.swiglu(t, gu, n, ff, h);                                                             // h [n, ff] T
            if (swin) {
                linear(L.down(), h, proj, n, d, ff, false);
                k.rmsnormResidual(t, proj, L.postNorm().pointer(), x, xCast, n, d, eps);
            } else {
                linear(L.down(), h, x, n, d, ff, true);                                            // x += down·h
                if (l + 1 < layers) k.rmsnorm(t, x, w.layers.get(l + 1).inputNorm().pointer(), 0L, xn, n, d, eps);
            }
        }
        if (p.wanted == 0) return;
        long normed = ws.logitsIn.pointer(), logits = ws.logits.pointer();
        k.rmsnorm(t, x, w.finalNorm.pointer(), logitRows, normed, p.wanted, d, eps);              // [w, d] T, wanted rows
        linear(w.lmHead, normed, logits, p.wanted, vocab, d, false);                               // logits [w, V] f32
        if (!sample) return;
        long scores = ws.scores.pointer(), amateur = ws.amateur.pointer();
        k.guidanceMix(draws, p.draws, logits, vocab, scores, amateur);                             // scores [draws, V]
        k.suppressTokens(draws, p.draws, scores, amateur, vocab, w.imageIds.pointer(), w.imageCount,
                w.otherIds.pointer(), w.otherCount);
        k.contrastive(draws, p.draws, scores, amateur, vocab);
        k.sample(draws, p.draws, scores, vocab, ws.tokens.pointer());                              // tokens [draws] i32
    }

    /**
     * y [n, out] f32 (+)= x [n, inDim] · W [out, inDim]ᵀ. cuBLAS when there are more rows than the skinny kernel
     * takes (row-major y = x·Wᵀ is column-major yᵀ = W·xᵀ: W transposed, x as is); the skinny kernel otherwise.
     */
    private void linear(DeviceBuffer weight, long x, long y, int n, int out, int inDim, boolean accumulate) {
        long W = weight.pointer();
        if (blas != null && n > Kernels.GEMV_MAX_ROWS) {
            blas.gemm(true, false, out, n, inDim, W, t, inDim, x, t, inDim, accumulate ? 1f : 0f, y, ElementType.F32, out);
            return;
        }
        for (int r = 0; r < n; r += Kernels.GEMV_MAX_ROWS) {
            int m = Math.min(Kernels.GEMV_MAX_ROWS, n - r);
            k.gemv(t, W, x + (long) r * inDim * t.bytes, y + 4L * r * out, m, out, inDim, accumulate);
        }
    }

    private void ensureWorkspace(StepPlan p, int splits) {
        long partial = (long) p.n * c.numHeads() * splits * (c.headDim() + 2);
        if (ws != null && ws.rows >= p.n && ws.logitRows >= p.wanted && ws.draws >= p.draws
                && ws.partialFloats >= partial && ws.descriptorBytes >= p.bytes) {
            return;
        }
        int rows = Math.max(p.n, ws == null ? 0 : ws.rows);
        int logitRows = Math.max(Math.max(p.wanted, 1), ws == null ? 0 : ws.logitRows);
        int draws = Math.max(Math.max(p.draws, 1), ws == null ? 0 : ws.draws);
        partial = Math.max(partial, ws == null ? 0 : ws.partialFloats);
        long descriptor = Math.max(p.bytes, ws == null ? 0 : ws.descriptorBytes);
        closeGraphs();  // captured launches point into the old buffers
        if (ws != null) ws.close();
        ws = null;
        ws = new Workspace(rows, logitRows, draws, partial, descriptor);
    }

    /** Activations and outputs of a step, on the device and page-locked on the host, sized for the largest step yet. */
    private final class Workspace implements AutoCloseable {
        final int rows, logitRows, draws;
        final long partialFloats, descriptorBytes;
        final DeviceBuffer x, xn, qkv, att, proj, gu, h, partial, logitsIn, logits, scores, amateur, tokens, descriptor;
        final MemorySegment hostDescriptor, hostLogits, hostTokens;

        Workspace(int rows, int logitRows, int draws, long partialFloats, long descriptorBytes) {
            this.rows = rows;
            this.logitRows = logitRows;
            this.draws = draws;
            this.partialFloats = partialFloats;
            this.descriptorBytes = descriptorBytes;
            long d = c.hiddenSize(), ff = c.intermediateSize(), vocab = c.vocabSize();
            x = new DeviceBuffer(device, 4 * rows * d);
            xn = new DeviceBuffer(device, (long) t.bytes * rows * d);
            qkv = new DeviceBuffer(device, 4L * rows * (c.qDim() + 2L * c.kvDim()));
            att = new DeviceBuffer(device, (long) t.bytes * rows * c.qDim());
            proj = new DeviceBuffer(device, 4 * rows * d);
            gu = new DeviceBuffer(device, 8 * rows * ff);
            h = new DeviceBuffer(device, (long) t.bytes * rows * ff);
            partial = new DeviceBuffer(device, 4 * partialFloats);
            logitsIn = new DeviceBuffer(device, (long) t.bytes * logitRows * d);
            logits = new DeviceBuffer(device, 4 * logitRows * vocab);
            scores = new DeviceBuffer(device, 4 * draws * vocab);
            amateur = new DeviceBuffer(device, 4 * draws * vocab);
            tokens = new DeviceBuffer(device, 4L * draws);
            descriptor = new DeviceBuffer(device, descriptorBytes);
            hostDescriptor = device.allocatePinned(descriptorBytes);
            hostLogits = device.allocatePinned(4 * logitRows * vocab);
            hostTokens = device.allocatePinned(4L * draws);
        }

        @Override
        public void close() {
            for (DeviceBuffer b : List.of(x, xn, qkv, att, proj, gu, h, partial, logitsIn, logits, scores, amateur, tokens, descriptor)) {
                b.close();
            }
            device.freePinned(hostDescriptor);
            device.freePinned(hostLogits);
            device.freePinned(hostTokens);
        }
    }

    private void closeGraphs() {
        graphs.values().forEach(g -> {
            if (g != null) g.close();
        });
        graphs.clear();
        seenShapes.clear();
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("the CUDA engine was closed");
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        device.synchronize();
        closeGraphs();
        if (ws != null) ws.close();
        w.close();
        arena.close();
        if (ownsDevice) device.close();
    }
}
