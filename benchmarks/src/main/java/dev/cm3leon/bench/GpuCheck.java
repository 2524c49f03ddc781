package dev.cm3leon.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.cuda.CudaDevice;
import dev.cm3leon.cuda.CudaEngine;
import dev.cm3leon.cuda.DeviceBuffer;
import dev.cm3leon.cuda.ElementType;
import dev.cm3leon.cuda.Kernels;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.TokenDraw;
import dev.cm3leon.engine.TokenDraw.Mix;
import dev.cm3leon.engine.TokenDraw.Modality;
import dev.cm3leon.engine.TokenDraw.Sampling;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The GPU benchmarks behind benchmarks/RESULTS.md, on a Chameleon-7B-shaped bf16 model of random weights: the
 * device-to-device copy bandwidth (the roofline), decode steps at 1, 2 and 3 streams, a 4096-token prefill, the
 * tensor-core prefill attention kernel alone, each skinny-product variant alone at the model's decode shapes, and one
 * 1024-token text→image generation with 2-stream guidance. Prints one {@code RESULT name value} line per figure for
 * gpu-check.sh, which puts them next to PyTorch's.
 *
 * <p>Usage: {@code GpuCheck [--layers N] [--hf-config path/config.json] [--config-only] [--decode-only --tag NAME]}.
 * {@code --decode-only} measures the copy and the decode steps alone, their keys named {@code decode_<tag>_<streams>_…}
 * when a tag is given: gpu-check.sh runs it again with {@code -Dcm3leon.cuda.gemv=warp} beside the default.
 */
public final class GpuCheck {
    private static final SplittableRandom RANDOM = new SplittableRandom(7);

    private GpuCheck() {
    }

    public static void main(String[] args) throws IOException {
        int layers = 32;
        Path hfConfig = null;
        boolean configOnly = false, decodeOnly = false;
        String tag = "";
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--layers" -> layers = Integer.parseInt(args[++i]);
                case "--hf-config" -> hfConfig = Path.of(args[++i]);
                case "--config-only" -> configOnly = true;
                case "--decode-only" -> decodeOnly = true;
                case "--tag" -> tag = args[++i] + "_";
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        ModelConfig config = RandomCheckpoint.chameleon7b(layers);
        if (hfConfig != null) writeHfConfig(config, hfConfig);
        if (configOnly) return;
        try (CudaDevice device = CudaDevice.open(0)) {
            long[] memory = device.memoryInfo();
            System.out.printf(Locale.ROOT, "device: %s, %.1f GiB free, cuBLAS %s%n", device.description(),
                    memory[0] / (double) (1L << 30), device.blasLibrary());
            double copy = device.copyBandwidth(1L << 30, 10);
            result("d2d_bandwidth_gbs", copy / 1e9);
            System.out.println("skinny product of the decode steps: " + new Kernels(device, Arena.ofAuto()).gemvKernel());
            if (!decodeOnly) {
                attention(device, 4096, 32, 128);
                skinnyProducts(device, config, copy);
            }
            long t0 = System.nanoTime();
            CudaEngine engine;
            try (RandomCheckpoint weights = new RandomCheckpoint(config, 42)) {
                engine = new CudaEngine(device, DecoderWeights.from(weights, config), new EngineOptions("cuda", false), false);
            }
            System.out.printf(Locale.ROOT, "weights on the device: %.1f GiB per decode step, loaded in %.1f s%n",
                    engine.bytesPerStep() / (double) (1L << 30), (System.nanoTime() - t0) / 1e9);
            try (engine) {
                for (int streams = 1; streams <= 3; streams++) decode(engine, streams, copy, tag);
                if (!decodeOnly) {
                    prefill(engine, 4096);
                    generate(engine, 1024, 3f);
                }
            }
        }
    }

    static void result(String name, double value) {
        System.out.printf(Locale.ROOT, "RESULT %s %.4f%n", name, value);
    }

    static int[] textTokens(int n) {
        int[] t = new int[n];
        t[0] = 0;
        for (int i = 1; i < n; i++) t[i] = 8800 + RANDOM.nextInt(50000);  // ids past the image and special tokens
        return t;
    }

    /** The draw of a step: plain, 2-stream CFG, or 3-stream CFG, sampled (T = 1, top-p 0.9) in image mode. */
    static TokenDraw draw(int streams, long step) {
        Mix mix = switch (streams) {
            case 1 -> new Mix.Single(0);
            case 2 -> new Mix.Guidance2(0, 1, 3f);
            default -> new Mix.Guidance3(0, 1, 2, 1.2f, 3f);
        };
        return new TokenDraw(mix, Modality.IMAGE, new Sampling(1f, 0, 0.9f, 0f, 1234, step));
    }

    static List<StreamStep> steps(List<KvCache> caches, int token) {
        List<StreamStep> s = new ArrayList<>();
        for (KvCache c : caches) s.add(StreamStep.last(c, token));
        return s;
    }

    /** Decode steps of {@code streams} streams at a context of ~512: one pass over the weights draws one token. */
    static void decode(CudaEngine e, int streams, double copyBandwidth, String tag) {
        int prompt = 512, warm = 16, steps = 128;
        List<KvCache> caches = new ArrayList<>();
        List<StreamStep> prefill = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            caches.add(e.newCache(prompt + warm + steps + 1));
            prefill.add(StreamStep.last(caches.get(s), textTokens(prompt)));
        }
        int token = e.forwardAndDraw(prefill, List.of(draw(streams, 0)))[0];
        for (int i = 0; i < warm; i++) token = e.forwardAndDraw(steps(caches, token), List.of(draw(streams, i + 1)))[0];
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) token = e.forwardAndDraw(steps(caches, token), List.of(draw(streams, warm + i + 1)))[0];
        double seconds = (System.nanoTime() - t0) / 1e9 / steps;
        ModelConfig c = e.config();
        double kvBytes = (double) streams * c.numLayers() * 2 * (prompt + warm + steps / 2.0) * c.kvDim() * e.elementType().bytes;
        double bytes = e.bytesPerStep() + kvBytes;
        String key = "decode_" + tag + streams;
        result(key + "_ms_per_step", seconds * 1e3);
        result(key + "_steps_per_s", 1 / seconds);
        result(key + "_gbs", bytes / seconds / 1e9);
        result(key + "_pct_of_d2d", 100 * bytes / seconds / copyBandwidth);
        caches.forEach(KvCache::close);
    }

    /** One stream's prompt of {@code tokens} in one step (after a shorter warm-up). */
    static void prefill(CudaEngine e, int tokens) {
        try (KvCache warm = e.newCache(512)) {
            e.forward(List.of(StreamStep.last(warm, textTokens(512))));
        }
        double best = Double.MAX_VALUE;
        for (int run = 0; run < 2; run++) {
            try (KvCache cache = e.newCache(tokens)) {
                int[] ids = textTokens(tokens);
                long t0 = System.nanoTime();
                e.forward(List.of(StreamStep.last(cache, ids)));
                best = Math.min(best, (System.nanoTime() - t0) / 1e9);
            }
        }
        ModelConfig c = e.config();
        double matrixFlops = 2.0 * (e.bytesPerStep() / e.elementType().bytes) * tokens;
        double attentionFlops = 2.0 * tokens * (double) tokens * c.headDim() * c.numHeads() * c.numLayers();
        result("prefill_" + tokens + "_s", best);
        result("prefill_" + tokens + "_tokens_per_s", tokens / best);
        result("prefill_" + tokens + "_tflops", (matrixFlops + attentionFlops) / best / 1e12);
    }

    /** The tensor-core prefill attention kernel alone: one layer, {@code tokens} causal rows of one stream. */
    static void attention(CudaDevice device, int tokens, int heads, int headDim) {
        int qDim = heads * headDim, stride = 3 * qDim;
        try (Arena arena = Arena.ofConfined();
             DeviceBuffer qkv = new DeviceBuffer(device, 4L * tokens * stride);
             DeviceBuffer cache = new DeviceBuffer(device, 2L * 2 * tokens * qDim);
             DeviceBuffer att = new DeviceBuffer(device, 2L * tokens * qDim);
             DeviceBuffer kv = new DeviceBuffer(device, 8);
             DeviceBuffer cap = new DeviceBuffer(device, 4);
             DeviceBuffer tiles = new DeviceBuffer(device, 16L * (tokens / Kernels.WMMA_TILE))) {
            MemorySegment q = arena.allocate(4L * tokens * stride);
            for (long i = 0; i < (long) tokens * stride; i++) q.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) RANDOM.nextGaussian());
            device.upload(qkv.pointer(), q);
            MemorySegment kvRandom = arena.allocate(2L * 2 * tokens * qDim);
            for (long i = 0; i < 2L * tokens * qDim; i++) {
                kvRandom.setAtIndex(ValueLayout.JAVA_SHORT, i, (short) (Float.floatToRawIntBits((float) RANDOM.nextGaussian()) >>> 16));
            }
            device.upload(cache.pointer(), kvRandom);
            device.upload(kv.pointer(), arena.allocateFrom(ValueLayout.JAVA_LONG, cache.pointer()));
            device.upload(cap.pointer(), arena.allocateFrom(ValueLayout.JAVA_INT, tokens));
            MemorySegment t = arena.allocate(16L * (tokens / Kernels.WMMA_TILE));
            for (int i = 0; i < tokens / Kernels.WMMA_TILE; i++) {
                t.setAtIndex(ValueLayout.JAVA_INT, 4L * i, i * Kernels.WMMA_TILE);
                t.setAtIndex(ValueLayout.JAVA_INT, 4L * i + 1, Kernels.WMMA_TILE);
                t.setAtIndex(ValueLayout.JAVA_INT, 4L * i + 2, i * Kernels.WMMA_TILE);
                t.setAtIndex(ValueLayout.JAVA_INT, 4L * i + 3, 0);
            }
            device.upload(tiles.pointer(), t);
            Kernels k = new Kernels(device, arena);
            Runnable run = () -> k.attentionPrefillWmma(headDim, qkv.pointer(), tiles.pointer(), tokens / Kernels.WMMA_TILE,
                    kv.pointer(), cap.pointer(), 0, heads, heads, att.pointer());
            run.run();
            run.run();
            float best = Float.MAX_VALUE;
            for (int i = 0; i < 10; i++) best = Math.min(best, device.time(run));
            double flops = 2.0 * tokens * (double) tokens * headDim * heads;  // causal half of 4·T²·D·H
            result("attention_" + tokens + "_ms", best);
            result("attention_" + tokens + "_tflops", flops / (best / 1e3) / 1e12);
        }
    }

    /**
     * Each skinny-product variant alone on bf16 weights at the decode shapes of the model (fused qkv, o, fused
     * gate-up, down, lm head) for 1, 2, 3 and 8 rows, as GB/s of weights read and as a share of the copy rate.
     * Launches walk a ring of weight copies larger than L2, so every launch reads its matrix from memory.
     */
    static void skinnyProducts(CudaDevice device, ModelConfig c, double copyBandwidth) {
        int d = c.hiddenSize();
        int[][] shapes = {{c.qDim() + 2 * c.kvDim(), d}, {d, c.qDim()}, {2 * c.intermediateSize(), d},
                {d, c.intermediateSize()}, {c.vocabSize(), d}};
        long ring = 1L << 30;
        int maxK = 0, maxOut = 0;
        for (int[] s : shapes) {
            maxOut = Math.max(maxOut, s[0]);
            maxK = Math.max(maxK, s[1]);
        }
        try (Arena arena = Arena.ofConfined();
             DeviceBuffer w = new DeviceBuffer(device, ring);
             DeviceBuffer x = new DeviceBuffer(device, 2L * Kernels.GEMV_MAX_ROWS * maxK);
             DeviceBuffer y = new DeviceBuffer(device, 4L * Kernels.GEMV_MAX_ROWS * maxOut)) {
            device.fill32Async(w.pointer(), 0x3c003c00, ring / 4);  // bf16 pairs of 2^-7: finite sums
            device.fill32Async(x.pointer(), 0x3f803f80, (long) Kernels.GEMV_MAX_ROWS * maxK / 2);
            device.synchronize();
            for (Kernels.Gemv variant : Kernels.Gemv.values()) {
                Kernels k = new Kernels(device, arena, variant);
                for (int[] s : shapes) {
                    int out = s[0], kk = s[1];
                    long bytes = 2L * out * kk;
                    int copies = (int) Math.max(1, ring / bytes);
                    for (int n : new int[]{1, 2, 3, 8}) {
                        int rows = n;
                        int[] next = {0};
                        Runnable one = () -> {
                            k.gemv(ElementType.BF16, w.pointer() + (next[0]++ % copies) * bytes, x.pointer(), y.pointer(), rows, out, kk, false);
                        };
                        for (int i = 0; i < 3; i++) one.run();
                        int reps = Math.max(8, copies);
                        float ms = device.time(() -> {
                            for (int i = 0; i < reps; i++) one.run();
                        }) / reps;
                        double gbs = bytes / (ms / 1e3) / 1e9;
                        String key = "gemv_" + variant.name().toLowerCase(Locale.ROOT) + "_" + out + "x" + kk + "_n" + n;
                        result(key + "_us", ms * 1e3);
                        result(key + "_pct_of_d2d", 100 * gbs * 1e9 / copyBandwidth);
                    }
                }
            }
        }
    }

    /** One image: both prompts prefilled in one step, then 1024 guided image tokens, each step one draw. */
    static void generate(CudaEngine e, int imageTokens, float scale) {
        int[] cond = textTokens(32), uncond = {0, 8197};
        cond[cond.length - 1] = 8197;  // ends with begin-of-image
        TokenDraw.Sampling sampling;
        long t0 = System.nanoTime();
        try (KvCache c = e.newCache(cond.length + imageTokens); KvCache u = e.newCache(uncond.length + imageTokens)) {
            TokenDraw first = new TokenDraw(new Mix.Guidance2(0, 1, scale), Modality.IMAGE, new Sampling(1f, 0, 0.9f, 0f, 99, 0));
            int token = e.forwardAndDraw(List.of(StreamStep.last(c, cond), StreamStep.last(u, uncond)), List.of(first))[0];
            for (int i = 1; i < imageTokens; i++) {
                sampling = new Sampling(1f, 0, 0.9f, 0f, 99, i);
                token = e.forwardAndDraw(List.of(StreamStep.last(c, token), StreamStep.last(u, token)),
                        List.of(new TokenDraw(new Mix.Guidance2(0, 1, scale), Modality.IMAGE, sampling)))[0];
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        result("generate_" + imageTokens + "_cfg_s", seconds);
        result("generate_" + imageTokens + "_cfg_tokens_per_s", imageTokens / seconds);
    }

    /** The same shape as an HF config.json, for the PyTorch side of the comparison. */
    static void writeHfConfig(ModelConfig c, Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode n = json.createObjectNode();
        n.put("model_type", "chameleon");
        n.put("hidden_size", c.hiddenSize());
        n.put("intermediate_size", c.intermediateSize());
        n.put("num_hidden_layers", c.numLayers());
        n.put("num_attention_heads", c.numHeads());
        n.put("num_key_value_heads", c.numKvHeads());
        n.put("vocab_size", c.vocabSize());
        n.put("max_position_embeddings", c.maxPositions());
        n.put("rope_theta", c.ropeTheta());
        n.put("rms_norm_eps", c.rmsNormEps());
        n.put("swin_norm", c.swinNorm());
        n.put("bos_token_id", c.bosId());
        n.put("eos_token_id", c.eosId());
        n.put("pad_token_id", c.padId());
        n.put("torch_dtype", "bfloat16");
        ObjectNode map = n.putObject("vocabulary_map");
        c.vocabulary().orElseThrow().tokens().forEach(map::put);
        json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), n);
    }
}
