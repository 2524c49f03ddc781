package dev.cm3leon.engine.cpu;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The CLIP-facing ops (LayerNorm with bias, GELU variants, erf, L2 normalisation) against known values. */
class CpuOpsTest {
    @Test
    void erfMatchesTabulatedValues() {
        double[][] table = {{0, 0}, {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1, 0.8427007929497149},
                {2, 0.9953222650189527}, {2.9, 0.9999589021219005}, {3, 0.9999779095030014}, {3.5, 0.9999992569016276},
                {4, 0.9999999845827421}, {5.9, 0.9999999999999999}, {7, 1}};
        for (double[] row : table) {
            assertThat(CpuOps.erf(row[0])).as("erf(%s)", row[0]).isCloseTo(row[1], within(2e-15));
            assertThat(CpuOps.erf(-row[0])).as("erf(-%s)", row[0]).isCloseTo(-row[1], within(2e-15));
        }
    }

    @Test
    void geluVariantsMatchTheirDefinitions() {
        float[] x = {-6f, -1.5f, -0.25f, 0f, 0.3f, 1f, 2.5f, 8f};
        float[] exact = x.clone(), quick = x.clone(), tanh = x.clone();
        CpuOps.gelu(exact, x.length);
        CpuOps.quickGelu(quick, x.length);
        CpuOps.geluTanh(tanh, x.length);
        double[] phi = {9.865876450376946e-10, 0.06680720126885807, 0.4012936743170763, 0.5, 0.6179114221889527,
                0.8413447460685429, 0.9937903346742238, 0.9999999999999993};
        for (int i = 0; i < x.length; i++) {
            assertThat(exact[i]).isCloseTo((float) (x[i] * phi[i]), within(1e-6f));
            assertThat(quick[i]).isCloseTo((float) (x[i] / (1 + Math.exp(-1.702 * x[i]))), within(1e-6f));
            assertThat(tanh[i]).isCloseTo(exact[i], within(2e-3f));
        }
    }

    @Test
    void layerNormNormalisesEachRowThenScalesAndShifts() {
        float[] x = {1, 2, 3, 4, -2, 0, 2, 4};
        float[] out = new float[8];
        CpuOps.layerNorm(x, new float[]{1, 1, 2, 2}, new float[]{0, 0, 1, 1}, 1e-5f, 2, 4, out);
        double inv = 1 / Math.sqrt(1.25 + 1e-5);
        assertThat(out[0]).isCloseTo((float) (-1.5 * inv), within(1e-6f));
        assertThat(out[3]).isCloseTo((float) (1.5 * inv * 2 + 1), within(1e-6f));
        double inv2 = 1 / Math.sqrt(5 + 1e-5);
        assertThat(out[4]).isCloseTo((float) (-3 * inv2), within(1e-6f));
    }

    @Test
    void l2NormalizeGivesAUnitVector() {
        float[] v = {3, 4, 0};
        assertThat(CpuOps.l2Normalize(v, 0, 3)).isEqualTo(5f);
        assertThat(v).containsExactly(0.6f, 0.8f, 0f);
        float[] zero = new float[3];
        CpuOps.l2Normalize(zero, 0, 3);
        assertThat(zero).containsOnly(0f);
    }
}
