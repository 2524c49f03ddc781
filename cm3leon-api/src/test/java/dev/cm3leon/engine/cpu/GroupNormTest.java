package dev.cm3leon.engine.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** GroupNorm (and its fused swish) against the definition, on seeded-random inputs. */
class GroupNormTest {
    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 4, 5, 6})
    void normalisesEachGroupByItsOwnStatistics(long seed) {
        Random r = new Random(seed);
        int groups = 1 + r.nextInt(4), channels = groups * (1 + r.nextInt(4)), positions = 1 + r.nextInt(40);
        float[] x = new float[channels * positions], w = new float[channels], b = new float[channels];
        for (int i = 0; i < x.length; i++) x[i] = (float) (3 + 2 * r.nextGaussian());
        for (int c = 0; c < channels; c++) {
            w[c] = (float) (1 + 0.2 * r.nextGaussian());
            b[c] = (float) (0.1 * r.nextGaussian());
        }
        boolean swish = r.nextBoolean();
        float[] y = new GroupNorm("n", channels, groups, 1e-6, w, b).apply(x, positions, swish);
        int per = channels / groups * positions;
        for (int g = 0; g < groups; g++) {
            double mean = 0, var = 0;
            for (int i = g * per; i < (g + 1) * per; i++) mean += x[i];
            mean /= per;
            for (int i = g * per; i < (g + 1) * per; i++) var += (x[i] - mean) * (x[i] - mean);
            var /= per;
            for (int i = g * per; i < (g + 1) * per; i++) {
                int c = i / positions;
                double v = (x[i] - mean) / Math.sqrt(var + 1e-6) * w[c] + b[c];
                if (swish) v = v / (1 + Math.exp(-v));
                assertThat((double) y[i]).isCloseTo(v, within(1e-5));
            }
        }
    }
}
