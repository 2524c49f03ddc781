package dev.cm3leon.bench;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.engine.cpu.MatrixWeights;
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

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/**
 * One weight matrix times one to three input vectors (decode of that many streams) on the engine's threads. Several
 * matrices are cycled so that together they exceed the last-level cache, as a model's weights do: the {@code bytes}
 * rate is then weight bandwidth from memory, to set against {@link StreamingReadBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmn32m"})
public class MatVecBenchmark {
    /** Rows × columns: Llama-7B's attention and MLP projections. */
    @Param({"4096x4096", "11008x4096"})
    public String shape;

    @Param({"BF16", "F32", "Q8_0", "Q4_0"})
    public String dtype;

    @Param({"1"})
    public int inputs;

    /** {@code native}: the CPU kernels of cm3leon-kernels where loaded (else the same as {@code java}). */
    @Param({"native", "java"})
    public String kernels;

    private Arena arena;
    private MatrixWeights[] matrices;
    private float[] x, out;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        int rows = Integer.parseInt(shape.split("x")[0]), cols = Integer.parseInt(shape.split("x")[1]);
        DType type = DType.valueOf(dtype);
        arena = Arena.ofShared();
        long bytes = type.bytesFor((long) rows * cols);
        int count = (int) Math.max(2, (256L << 20) / bytes + 1);   // at least 256 MiB in all: 8× a 32 MiB L3
        matrices = new MatrixWeights[count];
        for (int i = 0; i < count; i++) {
            MatrixWeights w = MatrixWeights.of(RandomMatrices.matrix(type, rows, cols, arena));
            matrices[i] = kernels.equals("java") ? w.javaKernels() : w;
        }
        x = RandomMatrices.vector(inputs * cols, 1);
        out = new float[inputs * rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] matvec(Traffic traffic) {
        MatrixWeights w = matrices[next];
        next = (next + 1) % matrices.length;
        w.matmul(x, inputs, out);
        traffic.bytes += w.byteSize();
        traffic.flops += 2L * w.rows() * w.cols() * inputs;
        return out;
    }
}
