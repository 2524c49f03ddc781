package dev.cm3leon.retrieval;

import dev.cm3leon.engine.cpu.CpuOps;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Seeded random unit vectors and brute-force answers for the memory bank tests. */
final class Vectors {
    private Vectors() {
    }

    static float[] unit(SplittableRandom r, int d) {
        float[] v = new float[d];
        for (int i = 0; i < d; i++) v[i] = (float) gaussian(r);
        CpuOps.l2Normalize(v, 0, d);
        return v;
    }

    static List<float[]> units(long seed, int n, int d) {
        SplittableRandom r = new SplittableRandom(seed);
        List<float[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(unit(r, d));
        return out;
    }

    /** A unit vector whose inner product with unit vector {@code base} is {@code cos}. */
    static float[] atCosine(float[] base, double cos, long seed) {
        float[] noise = unit(new SplittableRandom(seed), base.length);
        float along = CpuOps.dot(noise, 0, base, 0, base.length);
        for (int i = 0; i < noise.length; i++) noise[i] -= along * base[i];     // orthogonal to base
        CpuOps.l2Normalize(noise, 0, noise.length);
        double sin = Math.sqrt(1 - cos * cos);
        float[] v = new float[base.length];
        for (int i = 0; i < v.length; i++) v[i] = (float) (cos * base[i] + sin * noise[i]);
        CpuOps.l2Normalize(v, 0, v.length);
        return v;
    }

    /** Entries {@code prefix + i} for i in [from, to). */
    static List<MemoryEntry> entries(String prefix, List<float[]> vs, int from, int to) {
        List<MemoryEntry> out = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) out.add(entry(prefix + i, vs.get(i)));
        return out;
    }

    static MemoryEntry entry(String id, float[] v) {
        return new MemoryEntry(Document.ofText(id, "caption " + id), v);
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), w = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w);
    }
}
