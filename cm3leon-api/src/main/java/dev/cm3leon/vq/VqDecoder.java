package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.engine.cpu.Conv2d;
import dev.cm3leon.engine.cpu.GroupNorm;

/**
 * The VQ-GAN decoder (Meta's; HF's port lacks it): {@code conv_in}; the middle (block, attention, block); per level
 * from the deepest, {@code num_res_blocks + 1} residual blocks (each followed by attention when the level's side,
 * counted from the config's resolution, is in {@code attn_resolutions}) and, except at level 0, a nearest ×2
 * upsample and a 3×3 convolution; GroupNorm, swish, {@code conv_out}. Fully convolutional: any grid decodes.
 */
final class VqDecoder {
    private final Conv2d convIn, convOut;
    private final ResnetBlock mid1, mid2;
    private final AttnBlock midAttn;
    private final VqEncoder.Level[] levels;   // index = level, run from the last to 0
    private final GroupNorm normOut;

    VqDecoder(VqWeights w, VqConfig c) {
        int ch = c.baseChannels();
        int[] mult = c.channelMultiplier();
        int n = c.levels();
        int blockIn = ch * mult[n - 1], side = c.gridSize();
        this.convIn = w.conv3x3("decoder.conv_in", blockIn, c.latentChannels());
        this.mid1 = new ResnetBlock(w, "decoder.mid.block_1", blockIn, blockIn);
        this.midAttn = new AttnBlock(w, "decoder.mid.attn_1", blockIn);
        this.mid2 = new ResnetBlock(w, "decoder.mid.block_2", blockIn, blockIn);
        this.levels = new VqEncoder.Level[n];
        for (int i = n - 1; i >= 0; i--) {
            int blockOut = ch * mult[i];
            ResnetBlock[] blocks = new ResnetBlock[c.numResBlocks() + 1];
            AttnBlock[] attns = new AttnBlock[c.attentionAt(side) ? blocks.length : 0];
            for (int j = 0; j < blocks.length; j++) {
                blocks[j] = new ResnetBlock(w, "decoder.up." + i + ".block." + j, blockIn, blockOut);
                blockIn = blockOut;
                if (attns.length > 0) attns[j] = new AttnBlock(w, "decoder.up." + i + ".attn." + j, blockIn);
            }
            Conv2d up = null;
            if (i != 0) {
                up = w.conv3x3("decoder.up." + i + ".upsample.conv", blockIn, blockIn);
                side *= 2;
            }
            levels[i] = new VqEncoder.Level(blocks, attns, up);
        }
        this.normOut = w.norm("decoder.norm_out", blockIn);
        this.convOut = w.conv3x3("decoder.conv_out", c.outChannels(), blockIn);
    }

    /** FLOPs of the convolutions and attention for a {@code h × w} code grid (norms and swish aside). */
    long flops(int h, int w) {
        long f = convIn.flops(h, w) + mid1.flops(h, w) + midAttn.flops(h, w) + mid2.flops(h, w);
        for (int i = levels.length - 1; i >= 0; i--) {
            VqEncoder.Level level = levels[i];
            for (int j = 0; j < level.blocks().length; j++) {
                f += level.blocks()[j].flops(h, w);
                if (level.attentions().length > 0) f += level.attentions()[j].flops(h, w);
            }
            if (level.resample() != null) {
                h *= 2;
                w *= 2;
                f += level.resample().flops(h, w);
            }
        }
        return f + convOut.flops(h, w);
    }

    /** z: [latent, h, w] → image [out, h·2^(levels−1), w·2^(levels−1)], before any clamping. */
    FeatureMap apply(FeatureMap z, VqProbe probe) {
        FeatureMap h = VqEncoder.conv(convIn, z);
        probe.observe(VqProbe.DECODER_CONV_IN, h);
        h = mid2.apply(midAttn.apply(mid1.apply(h)));
        probe.observe(VqProbe.DECODER_MID, h);
        for (int i = levels.length - 1; i >= 0; i--) {
            VqEncoder.Level level = levels[i];
            for (int j = 0; j < level.blocks().length; j++) {
                h = level.blocks()[j].apply(h);
                if (level.attentions().length > 0) h = level.attentions()[j].apply(h);
            }
            if (level.resample() != null) h = VqEncoder.conv(level.resample(), upsampleNearest(h));
        }
        probe.observe(VqProbe.DECODER_PRE_NORM, h);
        return new FeatureMap(convOut.outChannels(), convOut.outHeight(h.height()), convOut.outWidth(h.width()),
                convOut.apply(h.data(), h.height(), h.width(), normOut, true));
    }

    /** Nearest-neighbour ×2: every value becomes a 2×2 block. */
    static FeatureMap upsampleNearest(FeatureMap x) {
        int c = x.channels(), h = x.height(), w = x.width(), w2 = 2 * w;
        float[] in = x.data(), out = new float[c * 4 * h * w];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int src = (ch * h + y) * w, dst = (ch * 2 * h + 2 * y) * w2;
                for (int xx = 0; xx < w; xx++) {
                    float v = in[src + xx];
                    out[dst + 2 * xx] = v;
                    out[dst + 2 * xx + 1] = v;
                }
                System.arraycopy(out, dst, out, dst + w2, w2);
            }
        }
        return new FeatureMap(c, 2 * h, w2, out);
    }
}
