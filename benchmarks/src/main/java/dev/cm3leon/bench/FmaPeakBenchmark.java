package dev.cm3leon.bench;

import dev.cm3leon.engine.cpu.Parallel;
import dev.cm3leon.engine.cpu.Roofline;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/** The roofline of prefill: register-only vector FMAs on every engine thread; its {@code flops} rate is the peak. */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmn32m"})
public class FmaPeakBenchmark {
    private static final long ROUNDS = 1_000_000;

    @Benchmark
    public float fma(Traffic traffic) {
        traffic.flops += ROUNDS * Roofline.flopsPerFmaRound() * Parallel.threads();
        return Roofline.fmaPass(ROUNDS);
    }
}
