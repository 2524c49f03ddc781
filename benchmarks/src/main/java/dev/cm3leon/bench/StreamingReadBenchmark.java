package dev.cm3leon.bench;

import dev.cm3leon.engine.cpu.Roofline;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * The roofline of decode: streaming reads of 1 GiB (far beyond the last-level cache) on the engine's threads, by a
 * native loop and by the Vector API. The native {@code bytes} rate is the bandwidth the matrix-vector and decode
 * benchmarks are compared with; the Java one shows what the Vector API alone reaches.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmn32m"})
public class StreamingReadBenchmark {
    private Arena arena;
    private MemorySegment buffer;

    @Setup(Level.Trial)
    public void allocate() {
        arena = Arena.ofShared();
        buffer = arena.allocate(1L << 30, 4096);
        buffer.fill((byte) 1);
    }

    @TearDown(Level.Trial)
    public void free() {
        arena.close();
    }

    /** The Vector API loop. */
    @Benchmark
    public float read(Traffic traffic) {
        traffic.bytes += buffer.byteSize();
        return Roofline.readPass(buffer);
    }

    /** The native loop (cm3leon-kernels), the figure decode is set against; the Java loop where it is not loaded. */
    @Benchmark
    public float nativeRead(Traffic traffic) {
        traffic.bytes += buffer.byteSize();
        return Roofline.nativeReadPass(buffer);
    }
}
