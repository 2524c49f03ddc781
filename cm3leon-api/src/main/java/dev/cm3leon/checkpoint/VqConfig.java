package dev.cm3leon.checkpoint;

import java.util.Arrays;

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
    static final int MAX_LEVELS = 16;
    /** A context-sized bound: Chameleon's grid is 32×32 = 1024 tokens. */
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

    static VqConfig parse(ConfigReader vq) {
        int base = vq.requireInt("base_channels", 1);
        int[] mult = vq.intArray("channel_multiplier", new int[]{1, 1, 2, 2, 4}, 1);
        if (mult.length == 0) throw vq.error("channel_multiplier", "must not be empty");
        // Each level halves the image; past 16 levels the shift below would wrap and the grid be nonsense.
        if (mult.length > MAX_LEVELS) throw vq.error("channel_multiplier", "has " + mult.length + " levels, more than " + MAX_LEVELS);
        int resolution = vq.requireInt("resolution", 1);
        if (resolution % (1 << (mult.length - 1)) != 0) {
            throw vq.error("resolution", "(" + resolution + ") must be divisible by 2^(levels-1) = " + (1 << (mult.length - 1)));
        }
        long grid = resolution >> (mult.length - 1);
        if (grid * grid > MAX_TOKENS_PER_IMAGE) {
            throw vq.error("resolution", "(" + resolution + ") gives a " + grid + "×" + grid + " code grid, more than "
                    + MAX_TOKENS_PER_IMAGE + " tokens per image");
        }
        VqConfig c = new VqConfig(
                vq.optInt("in_channels", 3, 1),
                vq.optInt("out_channels", 3, 1),
                base, mult,
                vq.optInt("num_res_blocks", 2, 0),
                vq.intArray("attn_resolutions", new int[0], 1),
                vq.requireInt("latent_channels", 1),
                vq.requireInt("embed_dim", 1),
                vq.requireInt("num_embeddings", 1),
                resolution,
                vq.optBoolean("double_latent", false));
        if (c.doubleLatent) throw vq.error("double_latent", "true is not supported (Chameleon's VQ-GAN uses false)");
        return c;
    }
}
