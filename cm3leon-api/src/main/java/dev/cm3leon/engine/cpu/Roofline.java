package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * What this machine can do, measured on the engine's own thread pool: the bandwidth of streaming reads from memory
 * (the bound of decode, which reads every weight once per step) and the throughput of vector FMAs (the bound of
 * prefill). Benchmarks report their results as a fraction of these, measured a moment before.
 *
 * <p>The read is measured twice: by a native loop ({@link NativeKernels}, where loaded), which reads what the memory
 * delivers, and by a Vector API loop, which on some cores reaches only part of it. Decode is set against the native
 * figure where there is one.
 */
public final class Roofline {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Where probe results go so the JIT cannot drop the loops that compute them. */
    private static volatile double sink;

    private Roofline() {
    }

    /** Mean, standard deviation and best of repeated measurements. */
    public record Measurement(double mean, double stddev, double best) {
        public static Measurement of(double[] samples) {
            double mean = Arrays.stream(samples).average().orElse(Double.NaN);
            double var = Arrays.stream(samples).map(s -> (s - mean) * (s - mean)).sum() / Math.max(1, samples.length - 1);
            return new Measurement(mean, Math.sqrt(var), Arrays.stream(samples).max().orElse(Double.NaN));
        }
    }

    /** The best of a few passes of each read probe, in GB/s; {@code nativeRead} is NaN without the native kernels. */
    public record ReadBandwidth(double nativeRead, double javaRead) {
        /** The figure decode is set against: the native read where measured, else the Java one. */
        public double roofline() {
            return Double.isNaN(nativeRead) ? javaRead : nativeRead;
        }

        /** "native 45.1 GB/s, Java 35.2" or "Java 35.2 GB/s". */
        public String describe() {
            return Double.isNaN(nativeRead) ? String.format(java.util.Locale.ROOT, "Java %.1f GB/s", javaRead)
                    : String.format(java.util.Locale.ROOT, "native %.1f GB/s, Java %.1f", nativeRead, javaRead);
        }
    }

    /** Both read probes over one buffer of {@code bytes}, native first, {@code repeats} passes each. */
    public static ReadBandwidth readBandwidth(long bytes, int repeats) {
        NativeKernels k = NativeKernels.instance();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = probeBuffer(arena, bytes);
            double nativeRead = k == null ? Double.NaN : timedReads(buffer, repeats, k::readSum).best();
            return new ReadBandwidth(nativeRead, timedReads(buffer, repeats, Roofline::sum).best());
        }
    }

    /**
     * Streaming-read bandwidth in GB/s (10⁹ bytes) of the Vector API loop: every pool thread sums its share of a
     * buffer of {@code bytes} (far larger than the last-level cache), {@code repeats} times after one warm-up pass.
     */
    public static Measurement streamingRead(long bytes, int repeats) {
        try (Arena arena = Arena.ofShared()) {
            return timedReads(probeBuffer(arena, bytes), repeats, Roofline::sum);
        }
    }

    /** The same with the native loop, or null where the native kernels are not loaded. */
    public static Measurement nativeStreamingRead(long bytes, int repeats) {
        NativeKernels k = NativeKernels.instance();
        if (k == null) return null;
        try (Arena arena = Arena.ofShared()) {
            return timedReads(probeBuffer(arena, bytes), repeats, k::readSum);
        }
    }

    /** A buffer whose every page is touched first, so the passes measure reads rather than page faults. */
    private static MemorySegment probeBuffer(Arena arena, long bytes) {
        MemorySegment buffer = arena.allocate(bytes - bytes % (1 << 16), 4096);
        buffer.fill((byte) 1);
        return buffer;
    }

    /** Sums a slice of the probe buffer. */
    @FunctionalInterface
    private interface SliceSum {
        float sum(MemorySegment slice);
    }

    private static Measurement timedReads(MemorySegment buffer, int repeats, SliceSum body) {
        float warm = 0;
        for (int i = 0; i < 2000; i++) warm += body.sum(buffer.asSlice(0, 1 << 16));   // compiles the loop first
        sink = warm;
        int chunks = Parallel.threads() * 4;
        long chunk = buffer.byteSize() / chunks;
        double[] samples = new double[repeats];
        for (int i = -1; i < repeats; i++) {
            DoubleAdder total = new DoubleAdder();
            long t0 = System.nanoTime();
            Parallel.forRange(chunks, 1, (c0, c1) -> total.add(body.sum(buffer.asSlice(c0 * chunk, (c1 - c0) * chunk))));
            long dt = System.nanoTime() - t0;
            sink = total.sum();
            if (i >= 0) samples[i] = (double) (chunk * chunks) / dt;
        }
        return Measurement.of(samples);
    }

    /** One parallel pass summing {@code buffer} with vector loads (the body the streaming-read probe times). */
    public static float readPass(MemorySegment buffer) {
        int chunks = Parallel.threads() * 4;
        long chunk = buffer.byteSize() / chunks;
        DoubleAdder sum = new DoubleAdder();
        Parallel.forRange(chunks, 1, (c0, c1) -> sum.add(sum(buffer.asSlice(c0 * chunk, (c1 - c0) * chunk))));
        return (float) sum.sum();
    }

    /** One parallel pass of the native read loop, or of the Java one where the native kernels are not loaded. */
    public static float nativeReadPass(MemorySegment buffer) {
        NativeKernels k = NativeKernels.instance();
        if (k == null) return readPass(buffer);
        int chunks = Parallel.threads() * 4;
        long chunk = buffer.byteSize() / chunks;
        DoubleAdder sum = new DoubleAdder();
        Parallel.forRange(chunks, 1, (c0, c1) -> sum.add(k.readSum(buffer.asSlice(c0 * chunk, (c1 - c0) * chunk))));
        return (float) sum.sum();
    }

    /** Every pool thread runs {@code iterations} rounds of twelve FMA chains (the body the FMA probe times). */
    public static float fmaPass(long iterations) {
        DoubleAdder sink = new DoubleAdder();
        Parallel.forRange(Parallel.threads(), 1, (a, b) -> {
            for (int t = a; t < b; t++) sink.add(fmaChains(iterations));
        });
        return (float) sink.sum();
    }

    /** FLOPs one round of {@link #fmaPass} does per thread. */
    public static long flopsPerFmaRound() {
        return 12L * F.length() * 2;
    }

    private static float sum(MemorySegment s) {
        int step = F.vectorByteSize();
        long from = 0, to = s.byteSize();
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (long o = from; o + 4L * step <= to; o += 4L * step) {
            a0 = a0.add(FloatVector.fromMemorySegment(F, s, o, ByteOrder.LITTLE_ENDIAN));
            a1 = a1.add(FloatVector.fromMemorySegment(F, s, o + step, ByteOrder.LITTLE_ENDIAN));
            a2 = a2.add(FloatVector.fromMemorySegment(F, s, o + 2L * step, ByteOrder.LITTLE_ENDIAN));
            a3 = a3.add(FloatVector.fromMemorySegment(F, s, o + 3L * step, ByteOrder.LITTLE_ENDIAN));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(VectorOperators.ADD) + s.get(ValueLayout.JAVA_BYTE, from);
    }

    /**
     * Peak f32 FMA throughput in GFLOP/s (an FMA is two FLOPs): every pool thread runs twelve independent chains of
     * register-only FMAs, enough to cover the latency of both FMA pipes, {@code repeats} times after a warm-up.
     */
    public static Measurement fmaPeak(int repeats) {
        int threads = Parallel.threads();
        long iterations = 20_000_000;
        float warm = 0;
        for (int i = 0; i < 2000; i++) warm += fmaChains(1000);   // compiles the loop before it is timed
        sink = warm;
        double[] samples = new double[repeats];
        for (int i = -1; i < repeats; i++) {
            DoubleAdder sink = new DoubleAdder();
            long t0 = System.nanoTime();
            Parallel.forRange(threads, 1, (a, b) -> {
                for (int t = a; t < b; t++) sink.add(fmaChains(iterations));
            });
            long dt = System.nanoTime() - t0;
            Roofline.sink = sink.sum();
            if (i >= 0) samples[i] = threads * iterations * 12.0 * F.length() * 2 / dt;
        }
        return Measurement.of(samples);
    }

    private static float fmaChains(long n) {
        FloatVector m = FloatVector.broadcast(F, 0.999f), c = FloatVector.broadcast(F, 0.001f);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
        FloatVector a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < n; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
