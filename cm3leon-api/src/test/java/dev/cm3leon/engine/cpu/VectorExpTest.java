package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The polynomial exp against {@link Math#exp} on fresh random inputs, and its vector and scalar forms against each other. */
class VectorExpTest {
    static final SplittableRandom SEEDS = new SplittableRandom();

    @RepeatedTest(5)
    void isWithinTwoUlpOfMathExpAndTheVectorFormGivesTheScalarFormsBits() {
        SplittableRandom r = SEEDS.split();
        int l = VectorExp.F.length();
        float[] x = new float[l * 4096], v = new float[x.length];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 174 - 87);
        for (int i = 0; i < x.length; i += l) VectorExp.exp(FloatVector.fromArray(VectorExp.F, x, i)).intoArray(v, i);
        for (int i = 0; i < x.length; i++) {
            float s = VectorExp.exp(x[i]), exact = (float) Math.exp(x[i]);
            assertThat(Float.floatToRawIntBits(v[i])).as("x = %s", x[i]).isEqualTo(Float.floatToRawIntBits(s));
            if (exact >= Float.MIN_NORMAL) assertThat(Math.abs(s - exact)).as("x = %s", x[i]).isLessThanOrEqualTo(2 * Math.ulp(exact));
        }
    }

    @Test
    void clampsOutOfRangeInputsToFiniteValuesAndKeepsZeroAtOne() {
        assertThat(VectorExp.exp(0f)).isEqualTo(1f);
        assertThat(VectorExp.exp(-1000f)).isBetween(0f, 1e-37f);
        assertThat(VectorExp.exp(1000f)).isFinite().isGreaterThan(1e38f);
        assertThat(GroupNorm.swish(-1000f)).isBetween(-1e-30f, 0f);
        assertThat(GroupNorm.swish(50f)).isEqualTo(50f);
    }
}
