package dev.cm3leon.checkpoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * The VQ-GAN image tokenizer's shape ({@code vq_config} in an HF Chameleon config, {@code ddconfig} in Meta's yaml).
 *
 * @param resolution      image side the tokenizer was trained at (pixels)
 * @param channelMultiplier per-level channel multipliers; the grid is {@code resolution / 2^(levels-1)}
 * @param attnResolutions feature-map sides at which the down/up paths add attention
 */
public record VqConfig(int inChannels, int outChannels, int baseChannels, int[] channelMultiplier, int numResBlocks,
                       int[] attnResolutions, int latentChannels, int embedDim, int numEmbeddings, int resolution,
                       boolean doubleLatent) {
    private static final long MAX_YAML_BYTES = 1 << 20;
    /** A context-sized bound (Chameleon's grid is 32×32 = 1024 tokens): more would overflow token counts. */
    static final int MAX_TOKENS_PER_IMAGE = 1 << 20;

    public VqConfig {
        channelMultiplier = channelMultiplier.clone();
        attnResolutions = attnResolutions.clone();
    }

    @Override
    public int[] channelMultiplier() {
        return channelMultiplier.clone();
    }

    @Override
    public int[] attnResolutions() {
        return attnResolutions.clone();
    }

    /** Value equality, arrays compared by content (a config read from yaml equals the same one from JSON). */
    @Override
    public boolean equals(Object o) {
        return o instanceof VqConfig c && inChannels == c.inChannels && outChannels == c.outChannels
                && baseChannels == c.baseChannels && Arrays.equals(channelMultiplier, c.channelMultiplier)
                && numResBlocks == c.numResBlocks && Arrays.equals(attnResolutions, c.attnResolutions)
                && latentChannels == c.latentChannels && embedDim == c.embedDim && numEmbeddings == c.numEmbeddings
                && resolution == c.resolution && doubleLatent == c.doubleLatent;
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(inChannels, outChannels, baseChannels, Arrays.hashCode(channelMultiplier),
                numResBlocks, Arrays.hashCode(attnResolutions), latentChannels, embedDim, numEmbeddings, resolution, doubleLatent);
    }

    @Override
    public String toString() {
        return "VqConfig[in=" + inChannels + ", out=" + outChannels + ", ch=" + baseChannels + ", ch_mult="
                + Arrays.toString(channelMultiplier) + ", res_blocks=" + numResBlocks + ", attn="
                + Arrays.toString(attnResolutions) + ", z=" + latentChannels + ", embed_dim=" + embedDim + ", codes="
                + numEmbeddings + ", resolution=" + resolution + "]";
    }

    public int levels() {
        return channelMultiplier.length;
    }

    /** Side of the code grid for an image at {@link #resolution()}. */
    public int gridSize() {
        return resolution >> (levels() - 1);
    }

    public int tokensPerImage() {
        return gridSize() * gridSize();
    }

    public boolean attentionAt(int featureSide) {
        return Arrays.stream(attnResolutions).anyMatch(r -> r == featureSide);
    }

    /**
     * {@code vq_config} of an HF Chameleon {@code config.json}, without reading the language model's settings; empty
     * when the config has none (a text-only checkpoint).
     */
    public static Optional<VqConfig> readHfConfig(Path configJson) {
        ConfigReader c = ConfigReader.read(configJson);
        return c.has("vq_config") ? Optional.of(parse(c.object("vq_config"))) : Optional.empty();
    }

    /**
     * Meta's {@code vqgan.yaml} ({@code model.params}: {@code embed_dim}, {@code n_embed} and the {@code ddconfig}
     * block), as Meta's image tokenizer reads it. HF's converter renames the same keys: {@code ch → base_channels},
     * {@code ch_mult → channel_multiplier}, {@code z_channels → latent_channels}, {@code double_z → double_latent},
     * {@code n_embed → num_embeddings}, {@code out_ch → out_channels}.
     */
    public static VqConfig readMetaYaml(Path yaml) {
        String text;
        try {
            if (Files.size(yaml) > MAX_YAML_BYTES) throw CheckpointException.of(yaml, "larger than " + MAX_YAML_BYTES + " bytes");
            text = Files.readString(yaml, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw CheckpointException.of(yaml, "file not found");
        } catch (IOException | java.io.UncheckedIOException e) {
            throw CheckpointException.of(yaml, "cannot read: " + e.getMessage());
        }
        ConfigReader root = ConfigReader.of(yaml, YamlSubset.parse(yaml, text));
        ConfigReader params = root.has("model") ? root.object("model").object("params")
                : root.has("params") ? root.object("params") : root;
        ConfigReader dd = params.object("ddconfig");
        return validated(dd, new VqConfig(
                dd.optInt("in_channels", 3, 1),
                dd.optInt("out_ch", 3, 1),
                dd.requireInt("ch", 1),
                dd.intArray("ch_mult", null, 1),
                dd.requireInt("num_res_blocks", 0),
                dd.intArray("attn_resolutions", new int[0], 1),
                dd.requireInt("z_channels", 1),
                params.requireInt("embed_dim", 1),
                params.requireInt("n_embed", 1),
                dd.requireInt("resolution", 1),
                dd.optBoolean("double_z", false)), "ch_mult", "resolution", "double_z");
    }

    static VqConfig parse(ConfigReader vq) {
        return validated(vq, new VqConfig(
                vq.optInt("in_channels", 3, 1),
                vq.optInt("out_channels", 3, 1),
                vq.requireInt("base_channels", 1),
                vq.intArray("channel_multiplier", new int[]{1, 1, 2, 2, 4}, 1),
                vq.optInt("num_res_blocks", 2, 0),
                vq.intArray("attn_resolutions", new int[0], 1),
                vq.requireInt("latent_channels", 1),
                vq.requireInt("embed_dim", 1),
                vq.requireInt("num_embeddings", 1),
                vq.requireInt("resolution", 1),
                vq.optBoolean("double_latent", false)), "channel_multiplier", "resolution", "double_latent");
    }

    private static VqConfig validated(ConfigReader r, VqConfig c, String multField, String resolutionField, String doubleField) {
        if (c.channelMultiplier.length == 0) throw r.error(multField, "must not be empty");
        if (c.channelMultiplier.length > 16) throw r.error(multField, "has more than 16 levels");
        int down = 1 << (c.levels() - 1);
        if (c.resolution % down != 0) {
            throw r.error(resolutionField, "(" + c.resolution + ") must be divisible by 2^(levels-1) = " + down);
        }
        long grid = c.gridSize();
        if (grid * grid > MAX_TOKENS_PER_IMAGE) {
            throw r.error(resolutionField, "(" + c.resolution + ") gives a " + grid + "×" + grid + " code grid, more than "
                    + MAX_TOKENS_PER_IMAGE + " tokens per image");
        }
        if (c.doubleLatent) throw r.error(doubleField, "true is not supported (Chameleon's VQ-GAN uses false)");
        return c;
    }
}
