package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.VqConfig;

import java.util.Map;

/** A direct float64 transcription of the VQ-GAN, loop by loop, as a reference for the optimised one. */
final class NaiveVq {
    record Map(int c, int h, int w, double[] v) {
        double at(int ch, int y, int x) {
            return y < 0 || y >= h || x < 0 || x >= w ? 0 : v[(ch * h + y) * w + x];
        }
    }

    private final VqConfig cfg;
    private final java.util.Map<String, float[]> wts;

    NaiveVq(VqConfig cfg, java.util.Map<String, float[]> wts) {
        this.cfg = cfg;
        this.wts = wts;
    }

    Map encode(Map x) {
        int n = cfg.levels();
        Map h = conv(x, "encoder.conv_in", 1, 1, 1);
        int side = cfg.resolution();
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < cfg.numResBlocks(); j++) {
                h = block(h, "encoder.down." + i + ".block." + j);
                if (cfg.attentionAt(side)) h = attn(h, "encoder.down." + i + ".attn." + j);
            }
            if (i < n - 1) {
                h = conv(h, "encoder.down." + i + ".downsample.conv", 2, 0, 0);   // pad right/bottom via bounds
                side /= 2;
            }
        }
        h = block(attn(block(h, "encoder.mid.block_1"), "encoder.mid.attn_1"), "encoder.mid.block_2");
        h = conv(swish(norm(h, "encoder.norm_out")), "encoder.conv_out", 1, 1, 1);
        return conv(h, "quant_conv", 1, 0, 0);
    }

    int[] nearest(Map z) {
        float[] e = wts.get("quantize.embedding.weight");
        int d = z.c, n = z.h * z.w;
        int[] out = new int[n];
        for (int p = 0; p < n; p++) {
            double best = Double.POSITIVE_INFINITY;
            for (int j = 0; j < cfg.numEmbeddings(); j++) {
                double dist = 0;
                for (int c = 0; c < d; c++) dist += Math.pow(z.v[c * n + p] - e[j * d + c], 2);
                if (dist < best) {
                    best = dist;
                    out[p] = j;
                }
            }
        }
        return out;
    }

    Map decode(int[] codes, int gh, int gw) {
        float[] e = wts.get("quantize.embedding.weight");
        int d = cfg.embedDim(), n = gh * gw;
        double[] z = new double[d * n];
        for (int p = 0; p < n; p++) for (int c = 0; c < d; c++) z[c * n + p] = e[codes[p] * d + c];
        Map h = conv(conv(new Map(d, gh, gw, z), "post_quant_conv", 1, 0, 0), "decoder.conv_in", 1, 1, 1);
        h = block(attn(block(h, "decoder.mid.block_1"), "decoder.mid.attn_1"), "decoder.mid.block_2");
        int side = cfg.gridSize();
        for (int i = cfg.levels() - 1; i >= 0; i--) {
            for (int j = 0; j <= cfg.numResBlocks(); j++) {
                h = block(h, "decoder.up." + i + ".block." + j);
                if (cfg.attentionAt(side)) h = attn(h, "decoder.up." + i + ".attn." + j);
            }
            if (i > 0) {
                Map up = new Map(h.c, 2 * h.h, 2 * h.w, new double[h.c * 4 * h.h * h.w]);
                for (int c = 0; c < h.c; c++)
                    for (int y = 0; y < up.h; y++)
                        for (int x = 0; x < up.w; x++) up.v[(c * up.h + y) * up.w + x] = h.at(c, y / 2, x / 2);
                h = conv(up, "decoder.up." + i + ".upsample.conv", 1, 1, 1);
                side *= 2;
            }
        }
        return conv(swish(norm(h, "decoder.norm_out")), "decoder.conv_out", 1, 1, 1);
    }

    /** Conv with padding {@code padTL} at top/left (right/bottom reads past the edge are zero too). */
    private Map conv(Map x, String name, int stride, int padTL, int unused) {
        float[] w = wts.get(name + ".weight"), b = wts.get(name + ".bias");
        int out = b.length, k = (int) Math.round(Math.sqrt(w.length / (double) (out * x.c)));
        int pad = k == 3 ? (stride == 1 ? 1 : 0) : 0;
        int padBR = k == 3 ? 1 : 0;
        int oh = (x.h + pad + padBR - k) / stride + 1, ow = (x.w + pad + padBR - k) / stride + 1;
        double[] v = new double[out * oh * ow];
        for (int co = 0; co < out; co++)
            for (int y = 0; y < oh; y++)
                for (int xx = 0; xx < ow; xx++) {
                    double acc = b[co];
                    for (int ci = 0; ci < x.c; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++)
                                acc += w[((co * x.c + ci) * k + ky) * k + kx] * x.at(ci, y * stride + ky - pad, xx * stride + kx - pad);
                    v[(co * oh + y) * ow + xx] = acc;
                }
        return new Map(out, oh, ow, v);
    }

    private Map norm(Map x, String name) {
        float[] g = wts.get(name + ".weight"), b = wts.get(name + ".bias");
        int per = x.c / 32 * x.h * x.w;
        double[] v = new double[x.v.length];
        for (int grp = 0; grp < 32; grp++) {
            double mean = 0, var = 0;
            for (int i = grp * per; i < (grp + 1) * per; i++) mean += x.v[i];
            mean /= per;
            for (int i = grp * per; i < (grp + 1) * per; i++) var += (x.v[i] - mean) * (x.v[i] - mean);
            var /= per;
            for (int i = grp * per; i < (grp + 1) * per; i++) {
                int c = i / (x.h * x.w);
                v[i] = (x.v[i] - mean) / Math.sqrt(var + 1e-6) * g[c] + b[c];
            }
        }
        return new Map(x.c, x.h, x.w, v);
    }

    private static Map swish(Map x) {
        double[] v = x.v.clone();
        for (int i = 0; i < v.length; i++) v[i] = v[i] / (1 + Math.exp(-v[i]));
        return new Map(x.c, x.h, x.w, v);
    }

    private Map block(Map x, String name) {
        Map h = conv(swish(norm(x, name + ".norm1")), name + ".conv1", 1, 1, 1);
        h = conv(swish(norm(h, name + ".norm2")), name + ".conv2", 1, 1, 1);
        Map s = wts.containsKey(name + ".nin_shortcut.weight") ? conv(x, name + ".nin_shortcut", 1, 0, 0) : x;
        double[] v = h.v.clone();
        for (int i = 0; i < v.length; i++) v[i] += s.v[i];
        return new Map(h.c, h.h, h.w, v);
    }

    private Map attn(Map x, String name) {
        Map hn = norm(x, name + ".norm");
        Map q = conv(hn, name + ".q", 1, 0, 0), k = conv(hn, name + ".k", 1, 0, 0), vv = conv(hn, name + ".v", 1, 0, 0);
        int c = x.c, n = x.h * x.w;
        double[] o = new double[c * n];
        for (int i = 0; i < n; i++) {
            double[] s = new double[n];
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < n; j++) {
                for (int ch = 0; ch < c; ch++) s[j] += q.v[ch * n + i] * k.v[ch * n + j];
                s[j] /= Math.sqrt(c);
                max = Math.max(max, s[j]);
            }
            for (int j = 0; j < n; j++) sum += s[j] = Math.exp(s[j] - max);
            for (int ch = 0; ch < c; ch++) {
                double acc = 0;
                for (int j = 0; j < n; j++) acc += vv.v[ch * n + j] * s[j] / sum;
                o[ch * n + i] = acc;
            }
        }
        Map p = conv(new Map(c, x.h, x.w, o), name + ".proj_out", 1, 0, 0);
        double[] v = p.v.clone();
        for (int i = 0; i < v.length; i++) v[i] += x.v[i];
        return new Map(c, x.h, x.w, v);
    }
}
