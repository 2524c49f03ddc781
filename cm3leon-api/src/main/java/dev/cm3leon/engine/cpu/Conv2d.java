package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Objects;

/**
 * A 2-D convolution (cross-correlation, as PyTorch's {@code Conv2d}) of a float32 feature map [C, H, W], computed
 * directly, without an im2col matrix.
 *
 * <p>The input is first rearranged into zero-padded <em>phase planes</em>: one plane per input channel for stride 1,
 * {@code stride²} planes (the polyphase split of rows and columns) for larger strides. In a plane, every kernel tap
 * becomes a constant offset, so output positions laid out row by row with the plane's width are contiguous and the
 * whole convolution is a sum over (input channel, tap) of a weight times a shifted plane: a vector FMA per output
 * vector. Each micro-tile keeps 8 output channels × three vectors of positions in registers (4 × two where there
 * are only 16 vector registers), so an input load feeds eight FMAs (four). Columns past the output width in that
 * layout are computed and dropped (cheap for images of realistic width). Tiles run in parallel over {@link Parallel#forRange}.
 */
public final class Conv2d {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    /** With 32 vector registers (AVX-512, 16 lanes) the 8×3 micro-tile; with 16 (AVX2) the 4×2 one. */
    private static final boolean WIDE = L >= 16;
    /** Output channels per micro-tile. */
    static final int CO_BLOCK = WIDE ? 8 : 4;
    /** Output positions per micro-tile: three vectors, or two. */
    private static final int P_BLOCK = (WIDE ? 3 : 2) * L;
    /** Multiply-adds a parallel task should at least do. */
    private static final long TASK_MACS = 1L << 17;

    /** Zero padding on each side, in input pixels. */
    public record Padding(int top, int left, int bottom, int right) {
        public static final Padding NONE = new Padding(0, 0, 0, 0);

        public Padding {
            if (top < 0 || left < 0 || bottom < 0 || right < 0) throw new IllegalArgumentException("negative padding");
        }

        /** The same padding {@code p} on every side (PyTorch's {@code padding=p}). */
        public static Padding uniform(int p) {
            return new Padding(p, p, p, p);
        }
    }

    private final String name;
    private final int outChannels, inChannels, kernel, stride;
    private final Padding padding;
    private final float[] packed;   // [coBlocks][inChannels][kernel²][CO_BLOCK], zero rows past outChannels
    private final float[] bias;     // [outChannels]

    /**
     * @param weight [outChannels, inChannels, kernel, kernel] as PyTorch stores it
     * @param bias   [outChannels], or null for none
     */
    public Conv2d(String name, float[] weight, float[] bias, int outChannels, int inChannels, int kernel, int stride,
                  Padding padding) {
        this.name = Objects.requireNonNull(name);
        if (outChannels < 1 || inChannels < 1 || kernel < 1 || stride < 1) {
            throw new IllegalArgumentException(name + ": channels, kernel and stride must be positive");
        }
        int taps = kernel * kernel;
        if (weight.length != (long) outChannels * inChannels * taps) {
            throw new IllegalArgumentException(name + ": weight has " + weight.length + " values, expected "
                    + outChannels + "×" + inChannels + "×" + kernel + "×" + kernel);
        }
        if (bias != null && bias.length != outChannels) {
            throw new IllegalArgumentException(name + ": bias has " + bias.length + " values, expected " + outChannels);
        }
        this.outChannels = outChannels;
        this.inChannels = inChannels;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = Objects.requireNonNull(padding);
        this.bias = bias == null ? new float[outChannels] : bias.clone();
        int blocks = (outChannels + CO_BLOCK - 1) / CO_BLOCK;
        this.packed = new float[blocks * inChannels * taps * CO_BLOCK];
        for (int co = 0; co < outChannels; co++) {
            int b = co / CO_BLOCK, j = co % CO_BLOCK;
            for (int ci = 0; ci < inChannels; ci++) {
                for (int t = 0; t < taps; t++) {
                    packed[((b * inChannels + ci) * taps + t) * CO_BLOCK + j] = weight[(co * inChannels + ci) * taps + t];
                }
            }
        }
    }

    public String name() {
        return name;
    }

    public int outChannels() {
        return outChannels;
    }

    public int inChannels() {
        return inChannels;
    }

    /** FLOPs (a multiply-add is two) of one application to a {@code height × width} input. */
    public long flops(int height, int width) {
        return 2L * outChannels * inChannels * kernel * kernel * outHeight(height) * outWidth(width);
    }

    public int outHeight(int height) {
        return Math.floorDiv(height + padding.top + padding.bottom - kernel, stride) + 1;
    }

    public int outWidth(int width) {
        return Math.floorDiv(width + padding.left + padding.right - kernel, stride) + 1;
    }

    /** x: [inChannels, height, width] → [outChannels, outHeight, outWidth]. */
    public float[] apply(float[] x, int height, int width) {
        return apply(x, height, width, null, false);
    }

    /**
     * {@code apply(norm.apply(x, height·width, swish), height, width)} without the normalised copy: the norm's
     * per-channel scale and shift (and the swish) are applied as the input is laid into the phase planes, with the
     * same float operations, so the result is the same to the bit.
     */
    public float[] apply(float[] x, int height, int width, GroupNorm norm, boolean swish) {
        if (height < 1 || width < 1 || (long) inChannels * height * width != x.length) {
            throw new IllegalArgumentException(name + ": input of " + x.length + " values is not [" + inChannels + ", "
                    + height + ", " + width + "]");
        }
        int oh = outHeight(height), ow = outWidth(width);
        if (oh < 1 || ow < 1) {
            throw new IllegalArgumentException(name + ": a " + height + "×" + width + " input is smaller than the kernel");
        }
        int reach = (kernel - 1) / stride;          // plane rows/columns a tap may look past the output
        int wp = ow + reach, hp = oh + reach;       // plane size
        int positions = oh * wp;                    // output in plane-width layout
        int chunks = (positions + P_BLOCK - 1) / P_BLOCK;
        int planeStride = chunks * P_BLOCK + reach * wp + reach;   // every vector load stays inside the plane
        int phases = stride * stride;
        if (norm != null && norm.channels() != inChannels) {
            throw new IllegalArgumentException(name + ": a norm of " + norm.channels() + " channels before " + inChannels);
        }
        float[][] affine = norm == null ? null : norm.affine(x, height * width);   // [scale, shift] per channel
        int planeFloats = inChannels * phases * planeStride;
        float[] planes = takePlanes(planeFloats);
        Parallel.forRange(inChannels, Math.max(1, 4096 / (height * width)), (c0, c1) -> {
            for (int ci = c0; ci < c1; ci++) {
                fillPlanes(x, ci, height, width, hp, wp, planeStride, planes, affine, swish);
            }
        });

        int taps = kernel * kernel;
        int[] tapIndex = new int[taps];             // plane offset of each tap, relative to the output position
        for (int ky = 0; ky < kernel; ky++) {
            for (int kx = 0; kx < kernel; kx++) {
                int phase = (ky % stride) * stride + kx % stride;
                tapIndex[ky * kernel + kx] = phase * planeStride + (ky / stride) * wp + kx / stride;
            }
        }
        int blocks = (outChannels + CO_BLOCK - 1) / CO_BLOCK;
        float[] out = new float[outChannels * oh * ow];
        long macsPerTile = (long) inChannels * taps * CO_BLOCK * P_BLOCK;
        int grain = (int) Math.max(1, TASK_MACS / macsPerTile);
        int channelStride = phases * planeStride;
        Parallel.forRange(chunks * blocks, grain, (t0, t1) -> {
            float[] tile = new float[CO_BLOCK * P_BLOCK];
            for (int t = t0; t < t1; t++) {
                int chunk = t / blocks, block = t % blocks;   // neighbouring tasks share the input chunk
                if (WIDE) microTile8x3(planes, channelStride, tapIndex, chunk * P_BLOCK, block, tile);
                else microTile4x2(planes, channelStride, tapIndex, chunk * P_BLOCK, block, tile);
                scatter(tile, block, chunk * P_BLOCK, positions, wp, oh, ow, out);
            }
        });
        SPARE_PLANES.set(planes);
        return out;
    }

    /**
     * The largest plane buffer a finished convolution gave back: a decoder runs dozens of convolutions at sizes up to
     * 135 MB of planes, and a buffer reused (zeroed again) is far cheaper than one allocated and collected.
     */
    private static final java.util.concurrent.atomic.AtomicReference<float[]> SPARE_PLANES = new java.util.concurrent.atomic.AtomicReference<>();

    /** A zeroed buffer of at least {@code floats}: the spare one if it is large enough (another thread may hold it). */
    private static float[] takePlanes(int floats) {
        float[] spare = SPARE_PLANES.getAndSet(null);
        if (spare == null || spare.length < floats) return new float[floats];
        java.util.Arrays.fill(spare, 0, floats, 0f);
        return spare;
    }

    /**
     * Phase plane (py, px) of channel ci holds the padded input at rows i·stride + py, columns j·stride + px; with
     * {@code affine}, each value becomes {@code x·scale[ci] + shift[ci]}, then its swish when asked.
     */
    private void fillPlanes(float[] x, int ci, int height, int width, int hp, int wp, int planeStride, float[] planes,
                            float[][] affine, boolean swish) {
        int src = ci * height * width;
        if (affine != null) {
            // Stride 1: each input row lands contiguously in its plane row, transformed in vectors.
            if (stride == 1) {
                float scale = affine[0][ci], shift = affine[1][ci];
                int base = ci * planeStride;
                for (int r = 0; r < height; r++) {
                    int i = r + padding.top;
                    if (i >= hp) break;
                    int from = Math.max(0, -padding.left), to = Math.min(width, wp - padding.left);
                    if (to > from) {
                        GroupNorm.transform(x, src + r * width + from, to - from, scale, shift, swish, planes,
                                base + i * wp + from + padding.left);
                    }
                }
                return;
            }
            float[] t = new float[height * width];
            GroupNorm.transform(x, src, height * width, affine[0][ci], affine[1][ci], swish, t, 0);
            x = t;
            src = 0;
        }
        for (int py = 0; py < stride; py++) {
            for (int px = 0; px < stride; px++) {
                int base = (ci * stride * stride + py * stride + px) * planeStride;
                for (int i = 0; i < hp; i++) {
                    int r = i * stride + py - padding.top;
                    if (r < 0 || r >= height) continue;
                    int row = base + i * wp, srcRow = src + r * width;
                    for (int j = 0; j < wp; j++) {
                        int c = j * stride + px - padding.left;
                        if (c >= 0 && c < width) planes[row + j] = x[srcRow + c];
                    }
                }
            }
        }
    }

    /**
     * tile[j, p] = Σ_ci Σ_tap w[block·8 + j, ci, tap] · plane[ci, tap][p0 + p] for p < 2L: sixteen accumulators
     * (8 channels × 2 vectors) stay in registers, so each (channel, tap) costs two vector loads and eight broadcasts
     * for sixteen FMAs, and the FMA units, not the loads, bound the loop.
     */
    /**
     * With 32 vector registers (AVX-512): tile[j, p] = Σ_ci Σ_tap w[block·8 + j, ci, tap] · plane[ci, tap][p0 + p],
     * p < 3L. Twenty-four accumulators stay in registers: per (channel, tap) three vector loads and eight broadcasts
     * feed twenty-four FMAs, so the FMA units, not the loads, bound the loop.
     */
    private void microTile8x3(float[] planes, int channelStride, int[] tapIndex, int p0, int block, float[] tile) {
        int taps = tapIndex.length;
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a10 = z, a11 = z, a12 = z, a20 = z, a21 = z, a22 = z, a30 = z, a31 = z, a32 = z, a40 = z, a41 = z, a42 = z, a50 = z, a51 = z, a52 = z, a60 = z, a61 = z, a62 = z, a70 = z, a71 = z, a72 = z;
        float[] wt = packed;
        int w = block * inChannels * taps * CO_BLOCK;
        for (int ci = 0; ci < inChannels; ci++) {
            int base = ci * channelStride + p0;
            for (int t = 0; t < taps; t++, w += CO_BLOCK) {
                int idx = base + tapIndex[t];
                FloatVector v0 = FloatVector.fromArray(F, planes, idx);
                FloatVector v1 = FloatVector.fromArray(F, planes, idx + L);
                FloatVector v2 = FloatVector.fromArray(F, planes, idx + 2 * L);
                FloatVector b0 = FloatVector.broadcast(F, wt[w + 0]);
                a00 = v0.fma(b0, a00);
                a01 = v1.fma(b0, a01);
                a02 = v2.fma(b0, a02);
                FloatVector b1 = FloatVector.broadcast(F, wt[w + 1]);
                a10 = v0.fma(b1, a10);
                a11 = v1.fma(b1, a11);
                a12 = v2.fma(b1, a12);
                FloatVector b2 = FloatVector.broadcast(F, wt[w + 2]);
                a20 = v0.fma(b2, a20);
                a21 = v1.fma(b2, a21);
                a22 = v2.fma(b2, a22);
                FloatVector b3 = FloatVector.broadcast(F, wt[w + 3]);
                a30 = v0.fma(b3, a30);
                a31 = v1.fma(b3, a31);
                a32 = v2.fma(b3, a32);
                FloatVector b4 = FloatVector.broadcast(F, wt[w + 4]);
                a40 = v0.fma(b4, a40);
                a41 = v1.fma(b4, a41);
                a42 = v2.fma(b4, a42);
                FloatVector b5 = FloatVector.broadcast(F, wt[w + 5]);
                a50 = v0.fma(b5, a50);
                a51 = v1.fma(b5, a51);
                a52 = v2.fma(b5, a52);
                FloatVector b6 = FloatVector.broadcast(F, wt[w + 6]);
                a60 = v0.fma(b6, a60);
                a61 = v1.fma(b6, a61);
                a62 = v2.fma(b6, a62);
                FloatVector b7 = FloatVector.broadcast(F, wt[w + 7]);
                a70 = v0.fma(b7, a70);
                a71 = v1.fma(b7, a71);
                a72 = v2.fma(b7, a72);
            }
        }
        a00.intoArray(tile, 0 * L);
        a01.intoArray(tile, 1 * L);
        a02.intoArray(tile, 2 * L);
        a10.intoArray(tile, 3 * L);
        a11.intoArray(tile, 4 * L);
        a12.intoArray(tile, 5 * L);
        a20.intoArray(tile, 6 * L);
        a21.intoArray(tile, 7 * L);
        a22.intoArray(tile, 8 * L);
        a30.intoArray(tile, 9 * L);
        a31.intoArray(tile, 10 * L);
        a32.intoArray(tile, 11 * L);
        a40.intoArray(tile, 12 * L);
        a41.intoArray(tile, 13 * L);
        a42.intoArray(tile, 14 * L);
        a50.intoArray(tile, 15 * L);
        a51.intoArray(tile, 16 * L);
        a52.intoArray(tile, 17 * L);
        a60.intoArray(tile, 18 * L);
        a61.intoArray(tile, 19 * L);
        a62.intoArray(tile, 20 * L);
        a70.intoArray(tile, 21 * L);
        a71.intoArray(tile, 22 * L);
        a72.intoArray(tile, 23 * L);
    }

    /** With 16 vector registers (AVX2): tile[j, p] = Σ_ci Σ_tap w[block·4 + j, ci, tap] · plane[ci, tap][p0 + p], p < 2L. */
    private void microTile4x2(float[] planes, int channelStride, int[] tapIndex, int p0, int block, float[] tile) {
        int taps = tapIndex.length;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int w = block * inChannels * taps * CO_BLOCK;
        for (int ci = 0; ci < inChannels; ci++) {
            int base = ci * channelStride + p0;
            for (int t = 0; t < taps; t++, w += CO_BLOCK) {
                int idx = base + tapIndex[t];
                FloatVector v0 = FloatVector.fromArray(F, planes, idx);
                FloatVector v1 = FloatVector.fromArray(F, planes, idx + L);
                FloatVector w0 = FloatVector.broadcast(F, packed[w]);
                FloatVector w1 = FloatVector.broadcast(F, packed[w + 1]);
                FloatVector w2 = FloatVector.broadcast(F, packed[w + 2]);
                FloatVector w3 = FloatVector.broadcast(F, packed[w + 3]);
                a00 = v0.fma(w0, a00);
                a01 = v1.fma(w0, a01);
                a10 = v0.fma(w1, a10);
                a11 = v1.fma(w1, a11);
                a20 = v0.fma(w2, a20);
                a21 = v1.fma(w2, a21);
                a30 = v0.fma(w3, a30);
                a31 = v1.fma(w3, a31);
            }
        }
        a00.intoArray(tile, 0);
        a01.intoArray(tile, L);
        a10.intoArray(tile, P_BLOCK);
        a11.intoArray(tile, P_BLOCK + L);
        a20.intoArray(tile, 2 * P_BLOCK);
        a21.intoArray(tile, 2 * P_BLOCK + L);
        a30.intoArray(tile, 3 * P_BLOCK);
        a31.intoArray(tile, 3 * P_BLOCK + L);
    }

    /** Copies a tile's real output positions (column below the output width) to out [C, oh, ow], adding the bias. */
    private void scatter(float[] tile, int block, int p0, int positions, int wp, int oh, int ow, float[] out) {
        int end = Math.min(p0 + P_BLOCK, positions);
        for (int j = 0; j < CO_BLOCK; j++) {
            int co = block * CO_BLOCK + j;
            if (co >= outChannels) break;
            float b = bias[co];
            int dst = co * oh * ow;
            int y = p0 / wp, xcol = p0 % wp;
            for (int p = p0; p < end; p++) {
                if (xcol < ow) out[dst + y * ow + xcol] = tile[j * P_BLOCK + p - p0] + b;
                if (++xcol == wp) {
                    xcol = 0;
                    y++;
                }
            }
        }
    }
}
