package dev.cm3leon.vq;

import dev.cm3leon.engine.cpu.Conv2d;
import dev.cm3leon.engine.cpu.GroupNorm;

/**
 * The VQ-GAN's residual block: {@code x' = shortcut(x) + conv2(swish(norm2(conv1(swish(norm1(x))))))}, the shortcut a
 * 1×1 {@code nin_shortcut} when the channel count changes, the identity otherwise.
 */
final class ResnetBlock {
    private final GroupNorm norm1, norm2;
    private final Conv2d conv1, conv2, ninShortcut;
    private final int in, out;

    ResnetBlock(VqWeights w, String name, int in, int out) {
        this.in = in;
        this.out = out;
        this.norm1 = w.norm(name + ".norm1", in);
        this.conv1 = w.conv3x3(name + ".conv1", out, in);
        this.norm2 = w.norm(name + ".norm2", out);
        this.conv2 = w.conv3x3(name + ".conv2", out, out);
        this.ninShortcut = in != out ? w.conv1x1(name + ".nin_shortcut", out, in) : null;
    }

    int outChannels() {
        return out;
    }

    /** FLOPs of the convolutions at {@code h × w}. */
    long flops(int h, int w) {
        return conv1.flops(h, w) + conv2.flops(h, w) + (ninShortcut != null ? ninShortcut.flops(h, w) : 0);
    }

    /** x: [in, h, w] → [out, h, w]. */
    FeatureMap apply(FeatureMap x) {
        int h = x.height(), w = x.width();
        // Each norm and swish is applied as its convolution lays out its input: no normalised copy.
        float[] t = conv1.apply(x.data(), h, w, norm1, true);   // [out, h, w]
        t = conv2.apply(t, h, w, norm2, true);
        float[] shortcut = ninShortcut != null ? ninShortcut.apply(x.data(), h, w) : x.data();
        for (int i = 0; i < t.length; i++) t[i] += shortcut[i];
        return new FeatureMap(out, h, w, t);
    }
}
