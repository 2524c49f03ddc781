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
 * One decode step for 1, 2 or 3 streams together (CFG and contrastive decoding run 2–3 streams): every weight is read
 * once per step for all of them. The score is steps per second; {@code bytes} is the weight bandwidth achieved, to set
 * against {@link StreamingReadBenchmark}. Each stream first holds {@code context} positions (a prompt, or an image
 * part-way: 1024 at the end of a 32×32 grid), then decodes 256 more before it is rewound to them, so the steps
 * measured attend to {@code context} to {@code context + 256} positions; {@code context = 0} against 1024 is the cost
 * of attention and KV reads growing over an image.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 5)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmn32m"})
public class DecodeBenchmark {
    /** A checkpoint folder or .gguf file; empty for a synthetic model of {@link #size}. */
    @Param({""})
    public String model;

    @Param({"0.5B"})
    public String size;

    @Param({"none"})
    public String quantize;

    @Param({"1", "2", "3"})
    public int streams;

    @Param({"0"})
    public int context;

    /** The KV cache's elements: f32 or bf16. */
    @Param({"f32"})
    public String kvCache;

    private BenchModel m;
    private final List<KvCache> caches = new ArrayList<>();

    @Setup(Level.Trial)
    public void setUp() {
        m = BenchModel.open(model, size, quantize, kvCache);
        int[] prompt = new int[context];
        for (int i = 0; i < context; i++) prompt[i] = 3 + i % 1000;
        List<StreamStep> prefill = new ArrayList<>();
        for (int s = 0; s < streams; s++) {
            KvCache c = m.engine.newCache(context + 256);
            caches.add(c);
            if (context > 0) prefill.add(new StreamStep(c, prompt, StreamStep.Logits.NONE));
        }
        if (!prefill.isEmpty()) m.engine.forward(prefill);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        caches.forEach(KvCache::close);
        m.close();
    }

    @Benchmark
    public float[][] step(Traffic traffic) {
        List<StreamStep> batch = new ArrayList<>(streams);
        for (int s = 0; s < streams; s++) {
            KvCache c = caches.get(s);
            if (c.length() == c.capacity()) c.truncate(context);
            batch.add(StreamStep.last(c, 3 + s + c.length()));
        }
        traffic.bytes += m.engine.weightBytesPerStep();
        return m.engine.forward(batch);
    }
}
