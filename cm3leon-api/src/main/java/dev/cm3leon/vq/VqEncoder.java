package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.engine.cpu.Conv2d;
import dev.cm3leon.engine.cpu.GroupNorm;

/**
 * The VQ-GAN encoder: {@code conv_in}; per level, {@code num_res_blocks} residual blocks (each followed by attention
 * when the level's side, counted from the config's resolution, is in {@code attn_resolutions}) and, except at the
 * last level, a stride-2 downsampling convolution that pads only right and bottom; the middle (block, attention,
 * block); GroupNorm, swish, {@code conv_out} to the latent channels.
 */
final class VqEncoder {
    /** One resolution level: its blocks, the attention after each block (or none), and its resampling convolution. */
    record Level(ResnetBlock[] blocks, AttnBlock[] attentions, Conv2d resample) {
    }

    private final Conv2d convIn, convOut;
    private final Level[] levels;
    private final ResnetBlock mid1, mid2;
    private final AttnBlock midAttn;
    private final GroupNorm normOut;
    private final int inChannels;

    VqEncoder(VqWeights w, VqConfig c) {
        int ch = c.baseChannels();
        int[] mult = c.channelMultiplier();
        this.inChannels = c.inChannels();
        this.convIn = w.conv3x3("encoder.conv_in", ch, c.inChannels());
        this.levels = new Level[c.levels()];
        int blockIn = ch, side = c.resolution();
        for (int i = 0; i < levels.length; i++) {
            int blockOut = ch * mult[i];
            ResnetBlock[] blocks = new ResnetBlock[c.numResBlocks()];
            AttnBlock[] attns = new AttnBlock[c.attentionAt(side) ? blocks.length : 0];
            for (int j = 0; j < blocks.length; j++) {
                blocks[j] = new ResnetBlock(w, "encoder.down." + i + ".block." + j, blockIn, blockOut);
                blockIn = blockOut;
                if (attns.length > 0) attns[j] = new AttnBlock(w, "encoder.down." + i + ".attn." + j, blockIn);
            }
            Conv2d down = null;
            if (i != levels.length - 1) {
                down = w.conv("encoder.down." + i + ".downsample.conv", blockIn, blockIn, 3, 2, new Conv2d.Padding(0, 0, 1, 1));
                side /= 2;
            }
            levels[i] = new Level(blocks, attns, down);
        }
        this.mid1 = new ResnetBlock(w, "encoder.mid.block_1", blockIn, blockIn);
        this.midAttn = new AttnBlock(w, "encoder.mid.attn_1", blockIn);
        this.mid2 = new ResnetBlock(w, "encoder.mid.block_2", blockIn, blockIn);
        this.normOut = w.norm("encoder.norm_out", blockIn);
        this.convOut = w.conv3x3("encoder.conv_out", c.latentChannels(), blockIn);
    }

    /** FLOPs of the convolutions and attention for an {@code h × w} image (norms and swish aside). */
    long flops(int h, int w) {
        long f = convIn.flops(h, w);
        for (Level level : levels) {
            for (int j = 0; j < level.blocks().length; j++) {
                f += level.blocks()[j].flops(h, w);
                if (level.attentions().length > 0) f += level.attentions()[j].flops(h, w);
            }
            if (level.resample() != null) {
                f += level.resample().flops(h, w);
                h = level.resample().outHeight(h);
                w = level.resample().outWidth(w);
            }
        }
        return f + mid1.flops(h, w) + midAttn.flops(h, w) + mid2.flops(h, w) + convOut.flops(h, w);
    }

    /** x: [in, H, W] → [latent, H / 2^(levels−1), W / 2^(levels−1)]. */
    FeatureMap apply(FeatureMap x, VqProbe probe) {
        if (x.channels() != inChannels) {
            throw new VqException("the encoder takes " + inChannels + " channels, the pixels have " + x.channels());
        }
        FeatureMap h = conv(convIn, x);
        probe.observe(VqProbe.ENCODER_CONV_IN, h);
        for (Level level : levels) {
            for (int j = 0; j < level.blocks().length; j++) {
                h = level.blocks()[j].apply(h);
                if (level.attentions().length > 0) h = level.attentions()[j].apply(h);
            }
            if (level.resample() != null) h = conv(level.resample(), h);
        }
        h = mid2.apply(midAttn.apply(mid1.apply(h)));
        probe.observe(VqProbe.ENCODER_MID, h);
        h = new FeatureMap(convOut.outChannels(), convOut.outHeight(h.height()), convOut.outWidth(h.width()),
                convOut.apply(h.data(), h.height(), h.width(), normOut, true));
        probe.observe(VqProbe.ENCODER_OUT, h);
        return h;
    }

    static FeatureMap conv(Conv2d conv, FeatureMap x) {
        int h = x.height(), w = x.width();
        return new FeatureMap(conv.outChannels(), conv.outHeight(h), conv.outWidth(w), conv.apply(x.data(), h, w));
    }
}
