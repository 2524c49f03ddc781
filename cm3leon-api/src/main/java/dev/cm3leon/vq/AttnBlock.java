package dev.cm3leon.vq;

import dev.cm3leon.engine.cpu.Conv2d;
import dev.cm3leon.engine.cpu.CpuOps;
import dev.cm3leon.engine.cpu.GroupNorm;
import dev.cm3leon.engine.cpu.Parallel;

/**
 * Single-head self-attention over the positions of a feature map, with a residual: q, k, v and {@code proj_out} are
 * 1×1 convolutions of the normalised input, scores scaled by {@code C^-½}, softmax over the keys.
 */
final class AttnBlock {
    private final GroupNorm norm;
    private final Conv2d q, k, v, projOut;
    private final int channels;

    AttnBlock(VqWeights w, String name, int channels) {
        this.channels = channels;
        this.norm = w.norm(name + ".norm", channels);
        this.q = w.conv1x1(name + ".q", channels, channels);
        this.k = w.conv1x1(name + ".k", channels, channels);
        this.v = w.conv1x1(name + ".v", channels, channels);
        this.projOut = w.conv1x1(name + ".proj_out", channels, channels);
    }

    /** FLOPs at {@code h × w}: the four 1×1 convolutions, the scores and the weighted sum (n² · C each). */
    long flops(int h, int w) {
        long n = (long) h * w;
        return q.flops(h, w) + k.flops(h, w) + v.flops(h, w) + projOut.flops(h, w) + 2 * 2 * n * n * channels;
    }

    /** x: [C, h, w] → [C, h, w]. */
    FeatureMap apply(FeatureMap x) {
        int h = x.height(), w = x.width(), n = h * w, c = channels;
        float[] hn = norm.apply(x.data(), n, false);
        float[] qm = q.apply(hn, h, w);                     // [C, n]
        float[] km = k.apply(hn, h, w);                     // [C, n]
        float[] vT = transpose(v.apply(hn, h, w), c, n);    // [n, C]
        // PyTorch multiplies the float32 scores by the Python float C^-0.5 cast to float32.
        float scale = (float) Math.pow(c, -0.5);
        float[] attendedT = new float[n * c];               // [n, C]
        // Products are accumulated lane-wise (axpy over keys, then over channels), never by a horizontal
        // reduction, whose order the Vector API leaves open: the result does not depend on JIT compilation.
        Parallel.forRange(n, Math.max(1, (1 << 16) / Math.max(1, n * c)), (i0, i1) -> {
            float[] p = new float[n];                       // scores of query i over the keys
            for (int i = i0; i < i1; i++) {
                java.util.Arrays.fill(p, 0f);
                for (int ch = 0; ch < c; ch++) CpuOps.axpy(qm[ch * n + i], km, ch * n, p, 0, n);
                for (int j = 0; j < n; j++) p[j] *= scale;
                CpuOps.softmax(p, 0, n);
                for (int j = 0; j < n; j++) CpuOps.axpy(p[j], vT, j * c, attendedT, i * c, c);
            }
        });
        float[] out = projOut.apply(transpose(attendedT, n, c), h, w);
        float[] in = x.data();
        for (int i = 0; i < out.length; i++) out[i] += in[i];
        return new FeatureMap(c, h, w, out);
    }

    /** a: [rows, cols] → [cols, rows]. */
    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) t[col * rows + r] = a[r * cols + col];
        }
        return t;
    }
}
