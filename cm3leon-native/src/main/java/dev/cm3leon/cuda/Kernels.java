package dev.cm3leon.cuda;

import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;

/**
 * One launcher per kernel: the grid, block and shared-memory size each .cu file expects, and its arguments in
 * order. Shapes in the comments are row-major; "T" is the engine's element type (matrices, their inputs, the KV
 * cache). Not thread-safe (one argument buffer, reused).
 */
public final class Kernels {
    /** Query rows per attention tile: the CUDA-core kernel and the tensor-core one. */
    public static final int PREFILL_TILE = 32, WMMA_TILE = 64;
    /** Rows the skinny product takes per launch (gemv.cu GEMV_MAX_ROWS). */
    public static final int GEMV_MAX_ROWS = 8;
    /** Output rows one block of the tiled skinny product takes (gemv.cu GEMV_BLOCK_ROWS). */
    public static final int GEMV_BLOCK_ROWS = 16;
    /** Head dimensions the attention kernels are instantiated for. */
    public static final int[] HEAD_DIMS = {16, 32, 64, 128};

    /**
     * The skinny products of gemv.cu. {@code cm3leon.cuda.gemv} chooses the one the decode step runs: {@code warp},
     * {@code tiled} or {@code staged} (the default).
     */
    public enum Gemv {
        /** One warp per output row, x read through the caches. */
        ROW_PER_WARP("warp"),
        /** Blocks of 16 output rows, four per pair of warps, x read through the caches. */
        TILED("tiled"),
        /** As {@link #TILED}, x staged in shared memory once per block where it fits ({@link #gemvStagedBytes}). */
        TILED_STAGED("staged");

        final String property;

        Gemv(String property) {
            this.property = property;
        }

        static Gemv fromProperty() {
            String v = System.getProperty("cm3leon.cuda.gemv", TILED_STAGED.property);
            for (Gemv g : values()) if (g.property.equals(v)) return g;
            throw new IllegalArgumentException("cm3leon.cuda.gemv is " + v + "; expected warp, tiled or staged");
        }
    }

    private final Device device;
    private final KernelArgs args;
    private final Map<String, Device.Kernel> cache = new HashMap<>();
    private final Gemv gemv;

    public Kernels(Device device, Arena arena) {
        this(device, arena, Gemv.fromProperty());
    }

    public Kernels(Device device, Arena arena, Gemv gemv) {
        this.device = device;
        this.args = new KernelArgs(arena);
        this.gemv = gemv;
    }

    /** The skinny product {@link #gemv} launches. */
    public Gemv gemvKernel() {
        return gemv;
    }

    private Device.Kernel kernel(String name, int sharedBytes) {
        Device.Kernel k = cache.get(name);
        if (k == null || sharedBytes > 0) {  // the device raises the shared-memory opt-in when needed
            k = device.kernel(name, sharedBytes);
            cache.put(name, k);
        }
        return k;
    }

    private void launch(String name, int gx, int gy, int gz, int threads, int sharedBytes) {
        device.launch(kernel(name, sharedBytes), gx, gy, gz, threads, sharedBytes, args);
    }

    private static int blocks(long work, int perBlock, int max) {
        return (int) Math.max(1, Math.min(max, (work + perBlock - 1) / perBlock));
    }

    /** x [n, d] f32 = table [V, d] (T) at tokens [n]. */
    public void embedding(ElementType t, long table, long tokens, int n, int d, long x) {
        args.reset().ptr(table).ptr(tokens).i32(d).ptr(x);
        launch("embedding_" + t.suffix, n, 1, 1, 256, 0);
    }

    /** out [n, d] (out type) = rmsnorm(x [rows[r] or r]) · w; rows = 0 for all rows in order. */
    public void rmsnorm(ElementType out, long x, long w, long rows, long y, int n, int d, float eps) {
        args.reset().ptr(x).ptr(w).ptr(rows).ptr(y).i32(d).f32(eps);
        launch("rmsnorm_" + out.suffix, n, 1, 1, 256, 0);
    }

    /** x [n, d] += rmsnorm(y) · w, and xCast (T, or 0) = x: the swin-norm residual. */
    public void rmsnormResidual(ElementType out, long y, long w, long x, long xCast, int n, int d, float eps) {
        args.reset().ptr(y).ptr(w).ptr(x).ptr(xCast).i32(d).f32(eps);
        launch("rmsnorm_residual_" + out.suffix, n, 1, 1, 256, 0);
    }

    /** y (bf16) = x (f32), {@code count} elements. */
    public void toBf16(long x, long y, long count) {
        args.reset().ptr(x).ptr(y).i64(count);
        launch("convert_f32_to_bf16", blocks(count, 256, 65536), 1, 1, 256, 0);
    }

    /**
     * qkv [n, qDim + 2·kvDim] f32: q heads normed and rotated in place; k (normed, rotated) and v appended to each
     * row's stream cache at its position. QK-norm pointers are 0 when the model has none.
     */
    public void qkNormRope(ElementType cache, long qkv, int heads, int kvHeads, int headDim, long qNormW, long qNormB,
                           long kNormW, long kNormB, float eps, long cos, long sin, long rowPos, long rowStream,
                           long streamKv, long streamCap, int layer, int n) {
        args.reset().ptr(qkv).i32(heads).i32(kvHeads).i32(headDim).ptr(qNormW).ptr(qNormB).ptr(kNormW).ptr(kNormB)
                .f32(eps).ptr(cos).ptr(sin).ptr(rowPos).ptr(rowStream).ptr(streamKv).ptr(streamCap).i32(layer);
        launch("qk_norm_rope_" + cache.suffix, n, (heads + kvHeads + 3) / 4, 1, 128, 0);
    }

    /**
     * att [n, heads·D] (T) for rows that each attend to their stream's cache [0, pos]: split-K partials [n, heads,
     * splits, D + 2] f32, then the merge.
     */
    public void attentionDecode(ElementType t, int headDim, long qkv, long rowPos, long rowStream, long streamKv,
                                long streamCap, int layer, int heads, int kvHeads, long partial, int splits, long att, int n) {
        String d = t.suffix + "_d" + headDim;
        args.reset().ptr(qkv).ptr(rowPos).ptr(rowStream).ptr(streamKv).ptr(streamCap).i32(layer).i32(heads).i32(kvHeads).ptr(partial);
        launch("attention_decode_" + d, n, heads, splits, 128, 0);
        args.reset().ptr(partial).i32(heads).i32(splits).ptr(att);
        launch("attention_merge_" + d, n, heads, 1, Math.max(32, headDim), 0);
    }

    /** Dynamic shared memory of attention_prefill.cu: Q [32][D], K [32][D + 1], V [32][D] in f32. */
    public static int prefillSharedBytes(int headDim) {
        return 4 * (PREFILL_TILE * headDim + PREFILL_TILE * (headDim + 1) + PREFILL_TILE * headDim);
    }

    /** Dynamic shared memory of attention_prefill_wmma.cu (TcLayout::BYTES). */
    public static int wmmaSharedBytes(int headDim) {
        int ldq = headDim + 8, lds = 64 + 4, ldp = 64 + 8, ldo = headDim + 4;
        return 3 * 64 * ldq * 2 + 4 * 16 * lds * 4 + 4 * 16 * ldp * 2 + 4 * 16 * ldo * 4 + 64 * 2 * 4;
    }

    /** att [n, heads·D] (T), causal, over tiles [tileCount] int4 of up to 32 rows; CUDA cores. */
    public void attentionPrefill(ElementType t, int headDim, long qkv, long tiles, int tileCount, long streamKv,
                                 long streamCap, int layer, int heads, int kvHeads, long att) {
        args.reset().ptr(qkv).ptr(tiles).ptr(streamKv).ptr(streamCap).i32(layer).i32(heads).i32(kvHeads).ptr(att);
        launch("attention_prefill_" + t.suffix + "_d" + headDim, tileCount, heads, 1, 128, prefillSharedBytes(headDim));
    }

    /** As {@link #attentionPrefill} on tensor cores: bf16, D = 64 or 128, tiles of up to 64 rows. */
    public void attentionPrefillWmma(int headDim, long qkv, long tiles, int tileCount, long streamKv, long streamCap,
                                     int layer, int heads, int kvHeads, long att) {
        args.reset().ptr(qkv).ptr(tiles).ptr(streamKv).ptr(streamCap).i32(layer).i32(heads).i32(kvHeads).ptr(att);
        launch("attention_prefill_wmma_d" + headDim, tileCount, heads, 1, 128, wmmaSharedBytes(headDim));
    }

    /** h [n, ff] (out type) = silu(gu[:, :ff]) · gu[:, ff:], gu [n, 2·ff] f32. */
    public void swiglu(ElementType out, long gu, int n, int ff, long h) {
        args.reset().ptr(gu).i32(n).i32(ff).ptr(h);
        launch("swiglu_" + out.suffix, blocks((long) n * ff, 256, 1 << 16), 1, 1, 256, 0);
    }

    /** y [n, out] f32 (+)= x [n, k] (T) · W [out, k]ᵀ (T), n ≤ 8, by the chosen {@link Gemv}. */
    public void gemv(ElementType t, long w, long x, long y, int n, int out, int k, boolean accumulate) {
        gemv(gemv, t, w, x, y, n, out, k, accumulate);
    }

    /** As {@link #gemv(ElementType, long, long, long, int, int, int, boolean)} by the given variant. */
    public void gemv(Gemv variant, ElementType t, long w, long x, long y, int n, int out, int k, boolean accumulate) {
        args.reset().ptr(w).ptr(x).ptr(y).i32(n).i32(out).i32(k).i32(accumulate ? 1 : 0);
        int staged = variant == Gemv.TILED_STAGED ? gemvStagedBytes(t, n, k) : 0;
        switch (variant) {
            case ROW_PER_WARP -> launch("gemv_" + t.suffix, (out + 7) / 8, 1, 1, 256, 0);
            case TILED, TILED_STAGED -> launch((staged > 0 ? "gemv_tiled_staged_" : "gemv_tiled_") + t.suffix,
                    (out + GEMV_BLOCK_ROWS - 1) / GEMV_BLOCK_ROWS, 1, 1, 256, staged);
        }
    }

    /**
     * Shared memory the staged product takes for x [n, k], or 0 where it reads x through the caches instead: when x
     * is larger than half of what a block may opt into, since its registers already limit a multiprocessor to two
     * blocks and more shared memory would leave room for only one.
     */
    public int gemvStagedBytes(ElementType t, int n, int k) {
        long bytes = (long) n * k * t.bytes;
        return bytes <= device.maxSharedMemoryPerBlock() / 2 ? (int) bytes : 0;
    }

    /** scores [draws, V] (and amateur rows of contrastive draws) from logits [w, V] per DrawParams [draws]. */
    public void guidanceMix(long draws, int drawCount, long logits, int vocab, long scores, long amateur) {
        args.reset().ptr(draws).ptr(logits).i32(vocab).ptr(scores).ptr(amateur);
        launch("guidance_mix", blocks(vocab, 1024, 1024), drawCount, 1, 256, 0);
    }

    /** Modality constraint of each draw on scores (and amateur) rows: listed ids get -FLT_MAX. */
    public void suppressTokens(long draws, int drawCount, long scores, long amateur, int vocab, long imageIds,
                               int imageCount, long otherIds, int otherCount) {
        args.reset().ptr(draws).ptr(scores).ptr(amateur).i32(vocab).ptr(imageIds).i32(imageCount).ptr(otherIds).i32(otherCount);
        launch("suppress_tokens", blocks(Math.max(imageCount, otherCount), 1024, 1024), drawCount, 1, 256, 0);
    }

    /** CD-K scores in place for the contrastive draws. */
    public void contrastive(long draws, int drawCount, long scores, long amateur, int vocab) {
        args.reset().ptr(draws).ptr(scores).ptr(amateur).i32(vocab);
        launch("contrastive_score", drawCount, 1, 1, 1024, 0);
    }

    /** tokens [draws] i32: one id per draw from its scores row. */
    public void sample(long draws, int drawCount, long scores, int vocab, long tokens) {
        args.reset().ptr(draws).ptr(scores).i32(vocab).ptr(tokens);
        launch("sample_tokens", drawCount, 1, 1, 1024, 0);
    }
}
