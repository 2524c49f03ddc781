package dev.cm3leon.bench;

import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A prompt of {@link #tokens} tokens in a fresh cache, logits of the last position only (pp512 in llama-bench's
 * terms). The score is prompts per second; {@code flops} is the arithmetic rate achieved, to set against
 * {@link FmaPeakBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 20)
@Measurement(iterations = 3, time = 20)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmn32m"})
public class PrefillBenchmark {
    @Param({""})
    public String model;

    @Param({"0.5B"})
    public String size;

    @Param({"none"})
    public String quantize;

    @Param({"512"})
    public int tokens;

    private BenchModel m;
    private int[] ids;

    @Setup(Level.Trial)
    public void setUp() {
        m = BenchModel.open(model, size, quantize);
        ids = new int[tokens];
        for (int i = 0; i < tokens; i++) ids[i] = 3 + (i * 7919) % (m.engine.config().vocabSize() - 3);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        m.close();
    }

    @Benchmark
    public float[][] prompt(Traffic traffic) {
        try (KvCache cache = m.engine.newCache(tokens)) {
            traffic.flops += (long) m.engine.promptFlops(tokens);
            return m.engine.forward(List.of(new StreamStep(cache, ids, StreamStep.Logits.LAST)));
        }
    }
}
