package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.checkpoint.VqConfig;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shapes the fixtures do not cover — attention inside the down and up paths, three residual blocks, other channel
 * multipliers, a non-square image, bf16 and f16 weights — against a naive float64 reference of the same network
 * built from seeded-random weights named as Meta names them.
 */
class VqGanGeneralityTest {
    // resolution 16, two levels: attention at side 16 (level 0) and 8 (level 1 and the grid).
    static final VqConfig CONFIG = new VqConfig(3, 3, 32, new int[]{1, 2}, 3, new int[]{16, 8}, 8, 4, 12, 16, false);

    @Test
    void encoderAndDecoderWithAttentionEverywhereMatchANaiveReference() {
        Map<String, float[]> w = randomWeights(CONFIG, new Random(20240607));
        VqGan vq = VqGan.from(CONFIG, source(w, DType.F32));
        assertThat(vq.canDecode()).isTrue();
        Random r = new Random(99);
        int h = 16, width = 24;
        float[] px = new float[3 * h * width];
        for (int i = 0; i < px.length; i++) px[i] = (float) (r.nextDouble() * 2 - 1);

        Map<String, FeatureMap> seen = new HashMap<>();
        CodeGrid codes = vq.encode(new FeatureMap(3, h, width, px), seen::put);
        NaiveVq ref = new NaiveVq(CONFIG, w);
        NaiveVq.Map latent = ref.encode(new NaiveVq.Map(3, h, width, toDouble(px)));
        assertThat(codes.height()).isEqualTo(8);
        assertThat(codes.width()).isEqualTo(12);
        assertClose(seen.get(VqProbe.QUANT_CONV).data(), latent.v());
        assertThat(codes.codes()).containsExactly(ref.nearest(latent));

        FeatureMap decoded = vq.decode(codes);
        assertThat(decoded.height()).isEqualTo(16);
        assertThat(decoded.width()).isEqualTo(24);
        assertClose(decoded.data(), ref.decode(codes.codes(), 8, 12).v());
    }

    @Test
    void chameleonsChannelMultipliersAt64PixelsMatchANaiveReference() {
        // Chameleon's network (five levels [1, 1, 2, 2, 4], two residual blocks, attention only in the middle block),
        // narrower (32 base channels) and at 64×64 so the float64 reference stays quick: a 4×4 code grid.
        VqConfig chameleonLike = new VqConfig(3, 3, 32, new int[]{1, 1, 2, 2, 4}, 2, new int[0], 16, 8, 64, 64, false);
        Map<String, float[]> w = randomWeights(chameleonLike, new Random(1024));
        VqGan vq = VqGan.from(chameleonLike, source(w, DType.F32));
        Random r = new Random(512);
        float[] px = new float[3 * 64 * 64];
        for (int i = 0; i < px.length; i++) px[i] = (float) (r.nextDouble() * 2 - 1);
        Map<String, FeatureMap> seen = new HashMap<>();
        CodeGrid codes = vq.encode(new FeatureMap(3, 64, 64, px), seen::put);
        NaiveVq ref = new NaiveVq(chameleonLike, w);
        NaiveVq.Map latent = ref.encode(new NaiveVq.Map(3, 64, 64, toDouble(px)));
        assertThat(codes.height()).isEqualTo(4);
        assertClose(seen.get(VqProbe.QUANT_CONV).data(), latent.v());
        assertThat(codes.codes()).containsExactly(ref.nearest(latent));
        // Codes drawn at random, so every codebook row may be read, not only those the encoder picked.
        int[] drawn = r.ints(16, 0, 64).toArray();
        FeatureMap decoded = vq.decode(new CodeGrid(4, 4, drawn));
        assertThat(decoded.channels()).isEqualTo(3);
        assertThat(decoded.height()).isEqualTo(64);
        assertThat(decoded.width()).isEqualTo(64);
        assertClose(decoded.data(), ref.decode(drawn, 4, 4).v());
    }

    @Test
    void bf16AndF16WeightsComputeAsTheirFloat32Values() {
        Map<String, float[]> w = randomWeights(CONFIG, new Random(5));
        CodeGrid grid = new CodeGrid(2, 3, new int[]{0, 5, 11, 3, 3, 7});
        for (DType t : new DType[]{DType.BF16, DType.F16}) {
            Map<String, float[]> rounded = new LinkedHashMap<>();
            w.forEach((k, v) -> rounded.put(k, round(v, t)));
            float[] narrow = VqGan.from(CONFIG, source(w, t)).decode(grid).data();
            float[] wide = VqGan.from(CONFIG, source(rounded, DType.F32)).decode(grid).data();
            assertThat(narrow).as("%s", t).isEqualTo(wide);
        }
    }

    static void assertClose(float[] actual, double[] expected) {
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as("at %d", i).isLessThanOrEqualTo(1e-4 * Math.max(1, Math.abs(expected[i])));
        }
    }

    /** Every tensor of Meta's VQ-GAN for {@code c}, named and shaped as Meta's checkpoint holds them. */
    static Map<String, float[]> randomWeights(VqConfig c, Random r) {
        Map<String, int[]> shapes = new LinkedHashMap<>();
        int ch = c.baseChannels(), n = c.levels();
        int[] mult = c.channelMultiplier();
        conv(shapes, "encoder.conv_in", ch, c.inChannels(), 3);
        int in = ch, side = c.resolution();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < c.numResBlocks(); j++) {
                block(shapes, "encoder.down." + i + ".block." + j, in, ch * mult[i]);
                in = ch * mult[i];
                if (c.attentionAt(side)) attn(shapes, "encoder.down." + i + ".attn." + j, in);
            }
            if (i < n - 1) {
                conv(shapes, "encoder.down." + i + ".downsample.conv", in, in, 3);
                side /= 2;
            }
        }
        block(shapes, "encoder.mid.block_1", in, in);
        attn(shapes, "encoder.mid.attn_1", in);
        block(shapes, "encoder.mid.block_2", in, in);
        norm(shapes, "encoder.norm_out", in);
        conv(shapes, "encoder.conv_out", c.latentChannels(), in, 3);
        conv(shapes, "quant_conv", c.embedDim(), c.latentChannels(), 1);
        shapes.put("quantize.embedding.weight", new int[]{c.numEmbeddings(), c.embedDim()});
        conv(shapes, "post_quant_conv", c.latentChannels(), c.embedDim(), 1);
        in = ch * mult[n - 1];
        conv(shapes, "decoder.conv_in", in, c.latentChannels(), 3);
        block(shapes, "decoder.mid.block_1", in, in);
        attn(shapes, "decoder.mid.attn_1", in);
        block(shapes, "decoder.mid.block_2", in, in);
        side = c.gridSize();
        for (int i = n - 1; i >= 0; i--) {
            for (int j = 0; j <= c.numResBlocks(); j++) {
                block(shapes, "decoder.up." + i + ".block." + j, in, ch * mult[i]);
                in = ch * mult[i];
                if (c.attentionAt(side)) attn(shapes, "decoder.up." + i + ".attn." + j, in);
            }
            if (i > 0) {
                conv(shapes, "decoder.up." + i + ".upsample.conv", in, in, 3);
                side *= 2;
            }
        }
        norm(shapes, "decoder.norm_out", in);
        conv(shapes, "decoder.conv_out", c.outChannels(), in, 3);

        Map<String, float[]> w = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> {
            int size = 1;
            for (int d : shape) size *= d;
            float[] v = new float[size];
            boolean normWeight = name.endsWith(".weight") && shape.length == 1;
            double scale = name.endsWith(".bias") ? 0.1 : shape.length == 4 ? 1 / Math.sqrt(size / shape[0]) : 1;
            for (int i = 0; i < size; i++) v[i] = (float) ((normWeight ? 1 : 0) + scale * (normWeight ? 0.2 : 1) * r.nextGaussian());
            w.put(name, v);
            SHAPES.put(name, shape);
        });
        return w;
    }

    static final Map<String, int[]> SHAPES = new HashMap<>();

    private static void conv(Map<String, int[]> s, String name, int out, int in, int k) {
        s.put(name + ".weight", new int[]{out, in, k, k});
        s.put(name + ".bias", new int[]{out});
    }

    private static void norm(Map<String, int[]> s, String name, int ch) {
        s.put(name + ".weight", new int[]{ch});
        s.put(name + ".bias", new int[]{ch});
    }

    private static void block(Map<String, int[]> s, String name, int in, int out) {
        norm(s, name + ".norm1", in);
        conv(s, name + ".conv1", out, in, 3);
        norm(s, name + ".norm2", out);
        conv(s, name + ".conv2", out, out, 3);
        if (in != out) conv(s, name + ".nin_shortcut", out, in, 1);
    }

    private static void attn(Map<String, int[]> s, String name, int ch) {
        norm(s, name + ".norm", ch);
        for (String p : new String[]{"q", "k", "v", "proj_out"}) conv(s, name + "." + p, ch, ch, 1);
    }

    /** Tensors in dtype {@code t}, in memory. */
    static TensorSource source(Map<String, float[]> w, DType t) {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        w.forEach((name, v) -> {
            MemorySegment seg = MemorySegment.ofArray(new byte[v.length * t.byteSize()]);
            for (int i = 0; i < v.length; i++) {
                switch (t) {
                    case F32 -> seg.set(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i, v[i]);
                    case F16 -> seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i, Float.floatToFloat16(v[i]));
                    case BF16 -> seg.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2L * i, (short) (bf16Bits(v[i]) >>> 16));
                    default -> throw new IllegalArgumentException(t.toString());
                }
            }
            long[] shape = java.util.Arrays.stream(SHAPES.get(name)).asLongStream().toArray();
            tensors.put(name, new Tensor(name, t, shape, seg));
        });
        return new TensorSource() {
            public Map<String, Tensor> tensors() { return tensors; }
            public Optional<Tensor> find(String name) { return Optional.ofNullable(tensors.get(name)); }
            public String describe() { return "random " + t; }
            public void close() { }
        };
    }

    /** Round to nearest even into bf16, kept in the high half of a float's bits. */
    static int bf16Bits(float f) {
        int b = Float.floatToRawIntBits(f);
        return (b + 0x7FFF + ((b >>> 16) & 1)) & 0xFFFF0000;
    }

    static float[] round(float[] v, DType t) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = t == DType.BF16 ? Float.intBitsToFloat(bf16Bits(v[i])) : Float.float16ToFloat(Float.floatToFloat16(v[i]));
        }
        return out;
    }

    static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }
}
