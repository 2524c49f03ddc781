package dev.cm3leon.engine.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The direct convolution against a naive float64 reference, on fresh seeded-random shapes and values. */
class Conv2dTest {
    record Shape(int out, int in, int kernel, int stride, Conv2d.Padding padding, int height, int width) {
    }

    static Stream<Long> seeds() {
        return IntStream.range(0, 24).mapToObj(i -> 0x5eed_0000L + i);
    }

    /** Random configurations: 1×1 and 3×3 kernels, strides 1 and 2, symmetric or right/bottom padding, odd sizes. */
    static Shape randomShape(Random r) {
        int kernel = r.nextBoolean() ? 3 : 1;
        int stride = kernel == 3 && r.nextInt(3) == 0 ? 2 : 1;
        Conv2d.Padding pad = kernel == 1 ? Conv2d.Padding.NONE
                : stride == 2 ? new Conv2d.Padding(0, 0, 1, 1) : Conv2d.Padding.uniform(1);
        return new Shape(1 + r.nextInt(11), 1 + r.nextInt(9), kernel, stride, pad, 3 + r.nextInt(14), 3 + r.nextInt(19));
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void matchesANaiveConvolution(long seed) {
        Random r = new Random(seed);
        Shape s = randomShape(r);
        float[] w = gaussian(r, s.out * s.in * s.kernel * s.kernel);
        float[] b = gaussian(r, s.out);
        float[] x = gaussian(r, s.in * s.height * s.width);
        Conv2d conv = new Conv2d("conv", w, b, s.out, s.in, s.kernel, s.stride, s.padding);
        float[] actual = conv.apply(x, s.height, s.width);
        double[] expected = naive(s, w, b, x);
        assertThat(actual).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("%s at %d", s, i).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-4));
        }
    }

    @ParameterizedTest
    @MethodSource("seeds")
    void aNormAppliedAsTheInputIsLaidOutGivesTheBitsOfNormThenConvolution(long seed) {
        Random r = new Random(seed ^ 0xA5A5L);
        Shape s = randomShape(r);
        int in = 32 * (1 + r.nextInt(2));   // GroupNorm's 32 groups
        boolean swish = r.nextBoolean();
        float[] w = gaussian(r, s.out * in * s.kernel * s.kernel), b = gaussian(r, s.out), x = gaussian(r, in * s.height * s.width);
        GroupNorm norm = new GroupNorm("norm", in, 32, 1e-6, gaussian(r, in), gaussian(r, in));
        Conv2d conv = new Conv2d("conv", w, b, s.out, in, s.kernel, s.stride, s.padding);
        float[] separate = conv.apply(norm.apply(x, s.height * s.width, swish), s.height, s.width);
        // Twice: the second call reuses the first one's plane buffer, which must come back zeroed.
        for (int i = 0; i < 2; i++) assertThat(conv.apply(x, s.height, s.width, norm, swish)).as("%s", s).isEqualTo(separate);
    }

    @Test
    void downsamplingPadsOnlyRightAndBottom() {
        // One channel, weight 1 at the top-left tap: output (y, x) reads input (2y, 2x), never a left/top pad.
        float[] w = new float[9];
        w[0] = 1;
        Conv2d conv = new Conv2d("down", w, null, 1, 1, 3, 2, new Conv2d.Padding(0, 0, 1, 1));
        float[] x = new float[16];
        for (int i = 0; i < 16; i++) x[i] = i;
        assertThat(conv.outHeight(4)).isEqualTo(2);
        assertThat(conv.apply(x, 4, 4)).containsExactly(0, 2, 8, 10);
    }

    @Test
    void refusesInputsOfTheWrongShape() {
        Conv2d conv = new Conv2d("c", new float[2 * 3 * 9], null, 2, 3, 3, 1, Conv2d.Padding.uniform(1));
        assertThatThrownBy(() -> conv.apply(new float[10], 2, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("c: input of 10 values is not [3, 2, 2]");
    }

    static double[] naive(Shape s, float[] w, float[] b, float[] x) {
        int oh = (s.height + s.padding.top() + s.padding.bottom() - s.kernel) / s.stride + 1;
        int ow = (s.width + s.padding.left() + s.padding.right() - s.kernel) / s.stride + 1;
        double[] out = new double[s.out * oh * ow];
        for (int co = 0; co < s.out; co++) {
            for (int y = 0; y < oh; y++) {
                for (int xx = 0; xx < ow; xx++) {
                    double acc = b[co];
                    for (int ci = 0; ci < s.in; ci++) {
                        for (int ky = 0; ky < s.kernel; ky++) {
                            for (int kx = 0; kx < s.kernel; kx++) {
                                int iy = y * s.stride + ky - s.padding.top(), ix = xx * s.stride + kx - s.padding.left();
                                if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) continue;
                                acc += (double) w[((co * s.in + ci) * s.kernel + ky) * s.kernel + kx] * x[(ci * s.height + iy) * s.width + ix];
                            }
                        }
                    }
                    out[(co * oh + y) * ow + xx] = acc;
                }
            }
        }
        return out;
    }

    static float[] gaussian(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }
}
