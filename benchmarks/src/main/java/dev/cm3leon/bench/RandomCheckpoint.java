package dev.cm3leon.bench;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.checkpoint.VocabularyMap;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * A bf16 checkpoint of random weights in HF Chameleon's names, for benchmarks: every tensor of one shape shares one
 * random buffer (the device still gets a copy per tensor, so bandwidth is real), which keeps host memory and setup
 * time small for a 7B shape. Norm weights are 1, QK-norm biases 0.
 */
final class RandomCheckpoint implements TensorSource {
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofShared();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final Map<String, MemorySegment> byShape = new HashMap<>();
    private final long seed;

    RandomCheckpoint(ModelConfig c, long seed) {
        this.seed = seed;
        int d = c.hiddenSize(), ff = c.intermediateSize(), v = c.vocabSize();
        random("model.embed_tokens.weight", v, d);
        random("lm_head.weight", v, d);
        constant("model.norm.weight", 1f, d);
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            random(p + "self_attn.q_proj.weight", c.qDim(), d);
            random(p + "self_attn.k_proj.weight", c.kvDim(), d);
            random(p + "self_attn.v_proj.weight", c.kvDim(), d);
            random(p + "self_attn.o_proj.weight", d, c.qDim());
            if (c.qkNorm()) {
                constant(p + "self_attn.q_norm.weight", 1f, c.numHeads(), c.headDim());
                constant(p + "self_attn.q_norm.bias", 0f, c.numHeads(), c.headDim());
                constant(p + "self_attn.k_norm.weight", 1f, c.numKvHeads(), c.headDim());
                constant(p + "self_attn.k_norm.bias", 0f, c.numKvHeads(), c.headDim());
            }
            random(p + "mlp.gate_proj.weight", ff, d);
            random(p + "mlp.up_proj.weight", ff, d);
            random(p + "mlp.down_proj.weight", d, ff);
            constant(p + "input_layernorm.weight", 1f, d);
            constant(p + "post_attention_layernorm.weight", 1f, d);
        }
    }

    /** Chameleon-7B's shape (hidden 4096, 32 heads of 128, SwiGLU 11 008, vocabulary 65 536 with 8192 image tokens). */
    static ModelConfig chameleon7b(int layers) {
        int vocab = 65536;
        Map<String, Integer> map = new LinkedHashMap<>();
        map.put("<s>", 0);
        map.put("<pad>", 1);
        map.put("</s>", 2);
        map.put("<unk>", 3);
        for (int code = 0; code < 8192; code++) map.put(imageTokenName(code), 4 + code);
        map.put(VocabularyMap.EOI, 8196);
        map.put(VocabularyMap.BOI, 8197);
        map.put(VocabularyMap.IMAGE_PLACEHOLDER, 8711);
        VocabularyMap vm = VocabularyMap.of(map, vocab, Path.of("chameleon-7b-shape"));
        return new ModelConfig("chameleon", 4096, 11008, layers, 32, 32, 128, vocab, 4096, 10000.0, 1e-5, false, true,
                false, 0, 2, 1, "bfloat16", Optional.of(vm), Optional.empty(), false);
    }

    /** IMGIMG + the decimal digits of the code as letters A–J + Z. */
    static String imageTokenName(int code) {
        StringBuilder s = new StringBuilder(VocabularyMap.IMAGE_TOKEN_PREFIX);
        for (char ch : Integer.toString(code).toCharArray()) s.append((char) ('A' + (ch - '0')));
        return s.append('Z').toString();
    }

    private void random(String name, long... shape) {
        String key = shape[0] + "x" + shape[1];
        MemorySegment data = byShape.computeIfAbsent(key, k -> {
            long n = shape[0] * shape[1];
            MemorySegment m = arena.allocate(2 * n, 64);
            int chunks = 256;
            IntStream.range(0, chunks).parallel().forEach(chunk -> {
                SplittableRandom r = new SplittableRandom(seed ^ (31L * chunk + n));
                for (long i = n * chunk / chunks; i < n * (chunk + 1) / chunks; i++) {
                    // uniform in ±0.0346: standard deviation 0.02, as HF initialises Chameleon
                    float v = (float) ((r.nextDouble() * 2 - 1) * 0.0346);
                    m.set(BF16, 2 * i, (short) (Float.floatToRawIntBits(v) >>> 16));
                }
            });
            return m;
        });
        tensors.put(name, new Tensor(name, DType.BF16, shape, data));
    }

    private void constant(String name, float value, long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        MemorySegment m = arena.allocate(2 * n, 64);
        short bits = (short) (Float.floatToRawIntBits(value) >>> 16);
        for (long i = 0; i < n; i++) m.set(BF16, 2 * i, bits);
        tensors.put(name, new Tensor(name, DType.BF16, shape, m));
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public String describe() {
        return "random bf16 weights";
    }

    @Override
    public void close() {
        arena.close();
    }
}
