package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * A VQ-GAN image tokenizer of a given shape with seeded random weights, every tensor named and shaped as Meta's
 * {@code vqgan.ckpt} holds it, for benchmarks and tests at a real scale. Like {@link SyntheticModel}, every row is a
 * pure function of (seed, tensor, row). Random weights decode to noise; the work, and so the time, is that of the
 * trained network of the same shape.
 */
public final class SyntheticVqGan implements RowSource {
    /**
     * Chameleon's image tokenizer as Meta's {@code vqgan.yaml} gives it: 512-pixel images, 128 base channels,
     * multipliers [1, 1, 2, 2, 4], 2 residual blocks per level, 256 latent and embedding channels, 8192 codes,
     * attention only in the middle block; a 32×32 code grid (1024 tokens per image).
     */
    public static final VqConfig CHAMELEON = new VqConfig(3, 3, 128, new int[]{1, 1, 2, 2, 4}, 2, new int[0], 256, 256,
            8192, 512, false);

    private final VqConfig config;
    private final long seed;
    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    private SyntheticVqGan(VqConfig config, long seed) {
        this.config = config;
        this.seed = seed;
        int ch = config.baseChannels(), n = config.levels();
        int[] mult = config.channelMultiplier();
        conv("encoder.conv_in", ch, config.inChannels(), 3);
        int in = ch, side = config.resolution();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < config.numResBlocks(); j++) {
                block("encoder.down." + i + ".block." + j, in, ch * mult[i]);
                in = ch * mult[i];
                if (config.attentionAt(side)) attention("encoder.down." + i + ".attn." + j, in);
            }
            if (i < n - 1) {
                conv("encoder.down." + i + ".downsample.conv", in, in, 3);
                side /= 2;
            }
        }
        block("encoder.mid.block_1", in, in);
        attention("encoder.mid.attn_1", in);
        block("encoder.mid.block_2", in, in);
        norm("encoder.norm_out", in);
        conv("encoder.conv_out", config.latentChannels(), in, 3);
        conv("quant_conv", config.embedDim(), config.latentChannels(), 1);
        shapes.put("quantize.embedding.weight", new long[]{config.numEmbeddings(), config.embedDim()});
        conv("post_quant_conv", config.latentChannels(), config.embedDim(), 1);
        in = ch * mult[n - 1];
        conv("decoder.conv_in", in, config.latentChannels(), 3);
        block("decoder.mid.block_1", in, in);
        attention("decoder.mid.attn_1", in);
        block("decoder.mid.block_2", in, in);
        side = config.gridSize();
        for (int i = n - 1; i >= 0; i--) {
            for (int j = 0; j <= config.numResBlocks(); j++) {
                block("decoder.up." + i + ".block." + j, in, ch * mult[i]);
                in = ch * mult[i];
                if (config.attentionAt(side)) attention("decoder.up." + i + ".attn." + j, in);
            }
            if (i > 0) {
                conv("decoder.up." + i + ".upsample.conv", in, in, 3);
                side *= 2;
            }
        }
        norm("decoder.norm_out", in);
        conv("decoder.conv_out", config.outChannels(), in, 3);
    }

    public static SyntheticVqGan of(VqConfig config, long seed) {
        return new SyntheticVqGan(config, seed);
    }

    public VqConfig config() {
        return config;
    }

    /** Parameters of every tensor (encoder, codebook and decoder). */
    public long parameters() {
        return shapes.values().stream().mapToLong(Tensor::elementCount).sum();
    }

    private void conv(String name, int out, int in, int kernel) {
        shapes.put(name + ".weight", new long[]{out, in, kernel, kernel});
        shapes.put(name + ".bias", new long[]{out});
    }

    private void norm(String name, int channels) {
        shapes.put(name + ".weight", new long[]{channels});
        shapes.put(name + ".bias", new long[]{channels});
    }

    private void block(String name, int in, int out) {
        norm(name + ".norm1", in);
        conv(name + ".conv1", out, in, 3);
        norm(name + ".norm2", out);
        conv(name + ".conv2", out, out, 3);
        if (in != out) conv(name + ".nin_shortcut", out, in, 1);
    }

    private void attention(String name, int channels) {
        norm(name + ".norm", channels);
        for (String p : new String[]{"q", "k", "v", "proj_out"}) conv(name + "." + p, channels, channels, 1);
    }

    @Override
    public List<String> names() {
        return List.copyOf(shapes.keySet());
    }

    @Override
    public long[] shape(String name) {
        long[] s = shapes.get(name);
        if (s == null) throw new IllegalArgumentException("no tensor '" + name + "'");
        return s.clone();
    }

    @Override
    public void row(String name, long r, float[] dst) {
        long[] s = shape(name);
        int len = RowSource.rowLength(s);
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode() * 0xC2B2AE3D27D4EB4FL + r);
        float center = 0f, halfWidth;
        boolean normWeight = s.length == 1 && name.endsWith(".weight");
        if (normWeight) {
            center = 1f;
            halfWidth = 0.1f;
        } else if (name.endsWith(".bias")) {
            halfWidth = 0.05f;
        } else if (s.length == 4) {
            halfWidth = (float) Math.sqrt(3.0 / (s[1] * s[2] * s[3]));   // unit variance over the fan-in
        } else {
            halfWidth = 1f;                                             // codebook rows
        }
        for (int i = 0; i < len; i++) dst[i] = center + halfWidth * (float) (rnd.nextDouble() * 2 - 1);
    }

    /** Writes Meta's files into {@code folder}: {@code vqgan.yaml} and {@code vqgan.safetensors} as {@code dtype}. */
    public Path writeMeta(Path folder, DType dtype) {
        try {
            Files.createDirectories(folder);
            Files.writeString(folder.resolve(VqGanFiles.YAML), metaYaml(config));
        } catch (IOException e) {
            throw new CheckpointException(folder + ": cannot write: " + e.getMessage(), e);
        }
        SafetensorsWriter.write(folder.resolve(VqGanFiles.SAFETENSORS), this, dtype);
        return folder;
    }

    /** The config as Meta's {@code vqgan.yaml} writes it. */
    public static String metaYaml(VqConfig c) {
        return """
                model:
                  target: taming.models.vqgan.VQModel
                  params:
                    embed_dim: %d
                    n_embed: %d
                    ddconfig:
                      double_z: false
                      z_channels: %d
                      resolution: %d
                      in_channels: %d
                      out_ch: %d
                      ch: %d
                      ch_mult: %s
                      num_res_blocks: %d
                      attn_resolutions: %s
                      dropout: 0.0
                """.formatted(c.embedDim(), c.numEmbeddings(), c.latentChannels(), c.resolution(), c.inChannels(),
                c.outChannels(), c.baseChannels(), list(c.channelMultiplier()), c.numResBlocks(), list(c.attnResolutions()));
    }

    /** The config as HF's converter writes {@code vq_config} into {@code config.json}. */
    public static void putHfConfig(ObjectNode vq, VqConfig c) {
        vq.put("model_type", "chameleon_vqgan").put("embed_dim", c.embedDim()).put("num_embeddings", c.numEmbeddings())
                .put("latent_channels", c.latentChannels()).put("base_channels", c.baseChannels())
                .put("num_res_blocks", c.numResBlocks()).put("resolution", c.resolution())
                .put("in_channels", c.inChannels()).put("out_channels", c.outChannels())
                .put("double_latent", false).put("dropout", 0.0);
        var mult = vq.putArray("channel_multiplier");
        for (int m : c.channelMultiplier()) mult.add(m);
        var attn = vq.putArray("attn_resolutions");
        for (int r : c.attnResolutions()) attn.add(r);
    }

    private static String list(int[] v) {
        return Arrays.stream(v).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]"));
    }
}
