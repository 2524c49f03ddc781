package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.engine.cpu.Conv2d;
import dev.cm3leon.engine.cpu.GroupNorm;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The VQ-GAN's tensors by Meta's names ({@code encoder.*}, {@code quantize.embedding.weight}, {@code decoder.*}…),
 * looked up in one or more sources in order; in each, under the HF prefix {@code model.vqmodel.} or bare. Weights are
 * widened to float32 heap copies: the convolutions repack them anyway, and they are small next to the language model.
 */
final class VqWeights {
    static final String HF_PREFIX = "model.vqmodel.";
    /** GroupNorm as the VQ-GAN uses it everywhere. */
    static final int GROUPS = 32;
    static final double NORM_EPS = 1e-6;

    private final List<TensorSource> sources;

    VqWeights(List<TensorSource> sources) {
        if (sources.isEmpty()) throw new IllegalArgumentException("no tensor source");
        this.sources = List.copyOf(sources);
    }

    Optional<Tensor> find(String name) {
        for (TensorSource s : sources) {
            Optional<Tensor> t = s.find(HF_PREFIX + name).or(() -> s.find(name));
            if (t.isPresent()) return t;
        }
        return Optional.empty();
    }

    boolean has(String name) {
        return find(name).isPresent();
    }

    Tensor require(String name) {
        return find(name).orElseThrow(() -> new CheckpointException(where() + ": missing tensor '" + name
                + "' (also looked for '" + HF_PREFIX + name + "')"));
    }

    String where() {
        List<String> names = new ArrayList<>();
        for (TensorSource s : sources) names.add(s.describe());
        return String.join(" + ", names);
    }

    float[] floats(String name, long... shape) {
        Tensor t = require(name).requireShape(shape);
        if (!t.dtype().isFloatingPoint()) {
            throw new CheckpointException(where() + ": tensor '" + t.name() + "' has dtype " + t.dtype() + ", expected F32, F16 or BF16");
        }
        return t.toFloatArray();
    }

    /** A square convolution {@code name.weight} [out, in, k, k] with {@code name.bias} [out]. */
    Conv2d conv(String name, int out, int in, int kernel, int stride, Conv2d.Padding padding) {
        return new Conv2d(name, floats(name + ".weight", out, in, kernel, kernel), floats(name + ".bias", out),
                out, in, kernel, stride, padding);
    }

    Conv2d conv3x3(String name, int out, int in) {
        return conv(name, out, in, 3, 1, Conv2d.Padding.uniform(1));
    }

    Conv2d conv1x1(String name, int out, int in) {
        return conv(name, out, in, 1, 1, Conv2d.Padding.NONE);
    }

    GroupNorm norm(String name, int channels) {
        if (channels % GROUPS != 0) {
            throw new CheckpointException(where() + ": '" + name + "' normalises " + channels + " channels, not a multiple of "
                    + GROUPS + " groups (check base_channels and channel_multiplier)");
        }
        return new GroupNorm(name, channels, GROUPS, NORM_EPS, floats(name + ".weight", channels), floats(name + ".bias", channels));
    }
}
