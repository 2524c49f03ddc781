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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One speculative-decoding verification pass: {@code tokens} positions per stream (the last accepted token and
 * {@code tokens − 1} drafts) for {@code streams} streams, logits of every position returned, after a 256-token
 * context; the caches are truncated back after each pass, as rejected drafts are. {@code tokens = 1} is an ordinary
 * decode step, so the ratio of the two times says how many tokens a window must be accepted per pass to pay.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmn32m"})
public class VerificationPassBenchmark {
    static final int CONTEXT = 256;

    /** A checkpoint folder or .gguf file; empty for a synthetic model of {@link #size}. */
    @Param({""})
    public String model;

    @Param({"1B"})
    public String size;

    @Param({"none"})
    public String quantize;

    @Param({"1", "2", "4", "8", "16"})
    public int tokens;

    @Param({"1", "2"})
    public int streams;

    private BenchModel m;
    private final List<KvCache> caches = new ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() {
        m = BenchModel.open(model, size, quantize);
        int[] context = new int[CONTEXT];
        for (int i = 0; i < CONTEXT; i++) context[i] = 3 + i;
        List<StreamStep> prefill = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            KvCache c = m.engine.newCache(CONTEXT + 64);
            caches.add(c);
            prefill.add(new StreamStep(c, context, StreamStep.Logits.NONE));
        }
        m.engine.forward(prefill);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        caches.forEach(KvCache::close);
        m.close();
    }

    @Benchmark
    public float[][] pass() {
        int[] window = new int[tokens];
        for (int i = 0; i < tokens; i++) window[i] = 5 + i;
        List<StreamStep> batch = new ArrayList<>(streams);
        for (KvCache c : caches) {
            c.truncate(CONTEXT);
            batch.add(new StreamStep(c, window, tokens == 1 ? StreamStep.Logits.LAST : StreamStep.Logits.ALL));
        }
        return m.engine.forward(batch);
    }
}
