package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The CPU engine's element-wise and normalisation ops. They are the reference every other backend's kernels are
 * tested against, so each one follows HF's float32 arithmetic.
 */
public final class CpuOps {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private CpuOps() {
    }

    /** Σ a[aOff+i]·b[bOff+i] for i < n. */
    /**
     * The sum of {@code v}'s lanes, first to last. The Vector API's {@code reduceLanes(ADD)} sums floats in one order
     * when interpreted and in another once compiled, so the same inputs gave different bits before and after warm-up;
     * a fixed order keeps a request's numbers the same whenever and beside whatever it runs.
     */
    static float sumLanes(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0f;
        for (float lane : lanes) s += lane;
        return s;
    }

    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float s = 0f;
        if (n >= F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (int upper = F.loopBound(n); i < upper; i += F.length()) {
                acc = FloatVector.fromArray(F, a, aOff + i).fma(FloatVector.fromArray(F, b, bOff + i), acc);
            }
            s = sumLanes(acc);
        }
        for (; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    /** y[yOff+i] += a · x[xOff+i] for i < n. */
    public static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        if (n >= F.length()) {
            FloatVector av = FloatVector.broadcast(F, a);
            for (int upper = F.loopBound(n); i < upper; i += F.length()) {
                FloatVector.fromArray(F, x, xOff + i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) y[yOff + i] += a * x[xOff + i];
    }

    /** x[off+i] *= a for i < n. */
    public static void scale(float[] x, int off, int n, float a) {
        int i = 0;
        if (n >= F.length()) {
            for (int upper = F.loopBound(n); i < upper; i += F.length()) {
                FloatVector.fromArray(F, x, off + i).mul(a).intoArray(x, off + i);
            }
        }
        for (; i < n; i++) x[off + i] *= a;
    }

    /** RMSNorm of each of {@code rows} rows of width {@code d}: out = x / sqrt(mean(x²) + eps) · weight. */
    public static void rmsNorm(float[] x, float[] weight, float eps, int rows, int d, float[] out) {
        for (int r = 0; r < rows; r++) {
            int off = r * d;
            float ss = dot(x, off, x, off, d) / d;
            float inv = (float) (1.0 / Math.sqrt(ss + eps));
            for (int i = 0; i < d; i++) out[off + i] = weight[i] * (x[off + i] * inv);
        }
    }

    /**
     * LayerNorm over each head's {@code headDim} values with a per-head weight and bias [heads, headDim]; statistics
     * per head, as Chameleon's QK-norm does. {@code x} holds {@code rows} rows of {@code heads · headDim}.
     */
    public static void headLayerNorm(float[] x, int rows, int heads, int headDim, float[] weight, float[] bias, float eps) {
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                int off = (r * heads + h) * headDim;
                float mean = 0f;
                for (int i = 0; i < headDim; i++) mean += x[off + i];
                mean /= headDim;
                float var = 0f;
                for (int i = 0; i < headDim; i++) {
                    float c = x[off + i] - mean;
                    var += c * c;
                }
                var /= headDim;
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                int w = h * headDim;
                for (int i = 0; i < headDim; i++) x[off + i] = (x[off + i] - mean) * inv * weight[w + i] + bias[w + i];
            }
        }
    }

    /** Rotate-half RoPE on one row of {@code heads} heads at one position; cos/sin hold [headDim/2] for it. */
    public static void ropeRotateHalf(float[] x, int off, int heads, int headDim, float[] cos, float[] sin, int csOff) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x1 = x[base + i], x2 = x[base + i + half];
                float c = cos[csOff + i], s = sin[csOff + i];
                x[base + i] = x1 * c - x2 * s;
                x[base + i + half] = x2 * c + x1 * s;
            }
        }
    }

    /** RoPE on adjacent pairs (2i, 2i+1), the layout of GGUF's permuted query and key rows. */
    public static void ropeInterleaved(float[] x, int off, int heads, int headDim, float[] cos, float[] sin, int csOff) {
        int half = headDim / 2;
        for (int h = 0; h < heads; h++) {
            int base = off + h * headDim;
            for (int i = 0; i < half; i++) {
                float x1 = x[base + 2 * i], x2 = x[base + 2 * i + 1];
                float c = cos[csOff + i], s = sin[csOff + i];
                x[base + 2 * i] = x1 * c - x2 * s;
                x[base + 2 * i + 1] = x2 * c + x1 * s;
            }
        }
    }

    /** gate ← silu(gate) · up, element-wise (SwiGLU). */
    public static void swiglu(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
    }

    /** In-place softmax of x[off, off+n). */
    public static void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - max);
            x[off + i] = e;
            sum += e;
        }
        float inv = 1f / sum;
        for (int i = 0; i < n; i++) x[off + i] *= inv;
    }

    /** y[i] += x[i] for i < n. */
    public static void add(float[] y, float[] x, int n) {
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += F.length()) {
            FloatVector.fromArray(F, y, i).add(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (; i < n; i++) y[i] += x[i];
    }
    /**
     * LayerNorm with weight and bias over each of {@code rows} rows of width {@code d}:
     * out = (x − mean) / sqrt(var + eps) · weight + bias, biased variance, as {@code torch.nn.LayerNorm}.
     * {@code out} may be {@code x}.
     */
    public static void layerNorm(float[] x, float[] weight, float[] bias, float eps, int rows, int d, float[] out) {
        for (int r = 0; r < rows; r++) {
            int off = r * d;
            float mean = sum(x, off, d) / d;
            float var = 0f;
            for (int i = 0; i < d; i++) {
                float c = x[off + i] - mean;
                var += c * c;
            }
            var /= d;
            float inv = (float) (1.0 / Math.sqrt(var + eps));
            for (int i = 0; i < d; i++) out[off + i] = (x[off + i] - mean) * inv * weight[i] + bias[i];
        }
    }

    /** Σ x[off+i] for i < n. */
    public static float sum(float[] x, int off, int n) {
        int i = 0;
        float s = 0f;
        if (n >= F.length()) {
            FloatVector acc = FloatVector.zero(F);
            for (int upper = F.loopBound(n); i < upper; i += F.length()) acc = acc.add(FloatVector.fromArray(F, x, off + i));
            s = sumLanes(acc);
        }
        for (; i < n; i++) s += x[off + i];
        return s;
    }

    /** x[r, i] += bias[i] for each of {@code rows} rows of width {@code d} (a Linear layer's bias). */
    public static void addBias(float[] x, float[] bias, int rows, int d) {
        for (int r = 0; r < rows; r++) {
            int off = r * d, i = 0;
            for (int upper = F.loopBound(d); i < upper; i += F.length()) {
                FloatVector.fromArray(F, x, off + i).add(FloatVector.fromArray(F, bias, i)).intoArray(x, off + i);
            }
            for (; i < d; i++) x[off + i] += bias[i];
        }
    }

    /** Divides x[off, off+n) by its L2 norm (left as is when the norm is 0); returns the norm. */
    public static float l2Normalize(float[] x, int off, int n) {
        float norm = (float) Math.sqrt(dot(x, off, x, off, n));
        if (norm > 0f) {
            for (int i = 0; i < n; i++) x[off + i] /= norm;
        }
        return norm;
    }

    /** x ← x·σ(1.702·x) in place (OpenAI CLIP's {@code quick_gelu}). */
    public static void quickGelu(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            float v = x[i];
            x[i] = v * (1f / (1f + (float) Math.exp(-1.702f * v)));
        }
    }

    /** x ← x·Φ(x) = x·½(1 + erf(x/√2)) in place: the exact GELU ({@code gelu}), evaluated in double. */
    public static void gelu(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            double v = x[i];
            x[i] = (float) (v * 0.5 * (1.0 + erf(v * 0.7071067811865476)));
        }
    }

    /** The tanh approximation of GELU ({@code gelu_new}, {@code gelu_pytorch_tanh}) in place. */
    public static void geluTanh(float[] x, int n) {
        for (int i = 0; i < n; i++) {
            double v = x[i];
            x[i] = (float) (0.5 * v * (1.0 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))));
        }
    }

    /**
     * The error function to about 1e-15. Below |x| = 3 the series 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(2n+1)!! has only positive
     * terms, so it does not cancel; above, erfc's continued fraction converges in a few dozen terms; beyond 6,
     * erf is ±1 in double.
     */
    public static double erf(double x) {
        double a = Math.abs(x);
        double r;
        if (a < 3.0) {
            double term = a, sum = a, x2 = a * a;
            for (int n = 1; term > 1e-17 * sum; n++) {
                term *= 2.0 * x2 / (2 * n + 1);
                sum += term;
            }
            r = 1.1283791670955126 * Math.exp(-x2) * sum;
        } else if (a < 6.0) {
            // erfc(a) = e^(−a²)/√π · 1/(a + ½/(a + 1/(a + (3/2)/(a + 2/(a + …))))), evaluated from the tail
            double f = a;
            for (int k = 60; k >= 1; k--) f = a + (k / 2.0) / f;
            r = 1.0 - Math.exp(-a * a) / (1.7724538509055159 * f);
        } else {
            r = 1.0;
        }
        return x < 0 ? -r : r;
    }
}
