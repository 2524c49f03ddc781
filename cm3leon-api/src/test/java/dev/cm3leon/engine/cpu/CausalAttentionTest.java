package dev.cm3leon.engine.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** The online-softmax attention against the textbook two-pass softmax, in double. */
class CausalAttentionTest {
    @ParameterizedTest(name = "ctx {0}, head dim {1}, kv width {2}")
    @CsvSource({"1, 16, 16", "5, 3, 7", "63, 16, 32", "64, 8, 8", "65, 64, 128", "200, 20, 40", "517, 128, 256"})
    void matchesTheTwoPassSoftmax(int ctx, int hd, int kvDim) {
        Random rnd = new Random(ctx * 131L + hd);
        float[] q = RandomWeights.floats(hd + 3, rnd);
        float[] keys = RandomWeights.floats(ctx * kvDim, rnd), values = RandomWeights.floats(ctx * kvDim, rnd);
        // Large scores in some blocks make the running maximum move.
        for (int i = 0; i < keys.length; i += 97) keys[i] *= 20;
        int kvOff = kvDim - hd;
        float scale = (float) (1 / Math.sqrt(hd));
        float[] out = new float[hd + 5];
        CausalAttention.attend(q, 3, keys, values, kvOff, kvDim, ctx, hd, scale, out, 5, new float[CausalAttention.BLOCK]);

        double[] s = new double[ctx];
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int j = 0; j < ctx; j++) {
            for (int i = 0; i < hd; i++) s[j] += (double) q[3 + i] * keys[j * kvDim + kvOff + i];
            s[j] *= scale;
            max = Math.max(max, s[j]);
        }
        for (int j = 0; j < ctx; j++) sum += Math.exp(s[j] - max);
        for (int i = 0; i < hd; i++) {
            double o = 0;
            for (int j = 0; j < ctx; j++) o += Math.exp(s[j] - max) / sum * values[j * kvDim + kvOff + i];
            assertThat((double) out[5 + i]).as("dim %d", i).isCloseTo(o, org.assertj.core.data.Offset.offset(2e-5));
        }
    }
}
