package dev.cm3leon.checkpoint;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A checkpoint whose QK-norm weights are stored per model-parallel shard, {@code [model_parallel_size, head_dim]}
 * (Lumina-mGPT's safetensors), seen with HF's per-head {@code [heads, head_dim]}: each shard's row repeated for the
 * shard's heads, as Lumina's modeling code does with {@code repeat_interleave(heads / model_parallel_size)}. The other
 * tensors stay views of the mapped files; only the small expanded norms live in native memory, freed on close.
 */
public final class GroupedQkNorm implements TensorSource {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final java.util.regex.Pattern QK_NORM = java.util.regex.Pattern.compile("\\.self_attn\\.[qk]_norm\\.(weight|bias)$");

    private final TensorSource inner;
    private final Arena arena;
    private final Map<String, Tensor> tensors;

    private GroupedQkNorm(TensorSource inner, Arena arena, Map<String, Tensor> tensors) {
        this.inner = inner;
        this.arena = arena;
        this.tensors = tensors;
    }

    /**
     * {@code source} with every {@code [modelParallel, head_dim]} QK-norm expanded; {@code source} itself when none is
     * stored that way. A QK-norm of any other shape is left for the decoder's shape check to name.
     */
    static TensorSource expand(TensorSource source, ModelConfig c, int modelParallel) {
        if (!c.qkNorm() || modelParallel == c.numHeads()) return source;
        Map<String, Tensor> out = new LinkedHashMap<>(source.tensors());
        Arena arena = Arena.ofShared();
        boolean any = false;
        try {
            // The stored tensors bound the work, not num_hidden_layers (a config may claim any number).
            for (Tensor t : source.tensors().values()) {
                String name = t.name();
                if (!name.startsWith("model.layers.") || !QK_NORM.matcher(name).find()) continue;
                int heads = name.contains(".q_norm.") ? c.numHeads() : c.numKvHeads();
                if (t.shape().length != 2 || t.shape()[0] != modelParallel || t.shape()[1] != c.headDim() || heads == modelParallel) {
                    continue;
                }
                if (heads % modelParallel != 0) {
                    throw new CheckpointException(source.describe() + ": tensor '" + name + "' has " + modelParallel
                            + " rows (model_parallel_size) that do not divide its " + heads + " heads");
                }
                out.put(name, repeatRows(t, heads / modelParallel, arena));
                any = true;
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        if (!any) {
            arena.close();
            return source;
        }
        return new GroupedQkNorm(source, arena, Map.copyOf(out));
    }

    /** [groups, d] → [groups · repeat, d] f32, row g repeated {@code repeat} times. */
    private static Tensor repeatRows(Tensor t, int repeat, Arena arena) {
        int groups = (int) t.shape()[0], d = (int) t.shape()[1];
        float[] v = t.toFloatArray();
        MemorySegment seg = arena.allocate(4L * groups * repeat * d, 64);
        long at = 0;
        for (int g = 0; g < groups; g++) {
            for (int r = 0; r < repeat; r++, at += 4L * d) MemorySegment.copy(v, g * d, seg, F32, at, d);
        }
        return new Tensor(t.name(), DType.F32, new long[]{(long) groups * repeat, d}, seg);
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public String describe() {
        return inner.describe();
    }

    @Override
    public void requireIntact() {
        inner.requireIntact();
    }

    @Override
    public void close() {
        try {
            inner.close();
        } finally {
            arena.close();
        }
    }
}
