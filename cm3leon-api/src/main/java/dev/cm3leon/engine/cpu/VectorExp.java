package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code exp(x)} in float32 from adds, multiplies and FMAs only (within 2 ulp of the exact value), in vector and
 * scalar forms that compute the same bits: unlike the Vector API's {@code EXP}, whose result depends on whether the
 * JIT has compiled the caller, a value does not change from one call to the next. Range reduction
 * {@code x = n·ln 2 + r}, |r| ≤ ln 2 / 2, a degree-7 Taylor polynomial for {@code e^r}, and {@code 2^n} built in the
 * exponent bits; x is clamped to [−87.3, 88.3] (results below 2^−126 become about 1e−38, not 0).
 */
final class VectorExp {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5 · 2^23: adding it rounds a float of magnitude below 2^22 to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final float LO = -87.3f, HI = 88.3f;
    private static final float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    private VectorExp() {
    }

    static FloatVector exp(FloatVector x) {
        x = x.max(LO).min(HI);
        FloatVector t = x.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = r.fma(C7, C6);
        p = p.fma(r, FloatVector.broadcast(F, C5));
        p = p.fma(r, FloatVector.broadcast(F, C4));
        p = p.fma(r, FloatVector.broadcast(F, C3));
        p = p.fma(r, FloatVector.broadcast(F, C2));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        p = p.fma(r, FloatVector.broadcast(F, 1f));
        // t's bits less ROUNDER's are n; n + 127 in the exponent field is 2^n.
        IntVector bits = ((IntVector) t.viewAsIntegralLanes()).sub(Float.floatToRawIntBits(ROUNDER) - 127)
                .lanewise(VectorOperators.LSHL, 23);
        return p.mul((FloatVector) bits.viewAsFloatingLanes());
    }

    static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float t = Math.fma(x, LOG2E, ROUNDER);
        float n = t - ROUNDER;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(Math.fma(r, C7, C6), r, C5), r, C4), r, C3), r, C2), r, 1f), r, 1f);
        int bits = (Float.floatToRawIntBits(t) - (Float.floatToRawIntBits(ROUNDER) - 127)) << 23;
        return p * Float.intBitsToFloat(bits);
    }
}
