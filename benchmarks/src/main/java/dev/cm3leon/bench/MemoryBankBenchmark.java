package dev.cm3leon.bench;

import dev.cm3leon.engine.cpu.CpuOps;
import dev.cm3leon.engine.cpu.Parallel;
import dev.cm3leon.retrieval.Document;
import dev.cm3leon.retrieval.ExactMemoryBank;
import dev.cm3leon.retrieval.LuceneMemoryBank;
import dev.cm3leon.retrieval.MemoryEntry;
import dev.cm3leon.retrieval.ScoredDocument;
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

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Memory bank search on seeded random 512-d unit vectors, the hard case for HNSW (no cluster structure; real CLIP
 * embeddings do better): search latency of the Lucene HNSW bank and of the exact bank, recall@10 of HNSW against
 * exact, and ingest throughput.
 *
 * <p>Building an HNSW bank of {@code size} vectors takes minutes to an hour, so it is built once per parameter set
 * under {@code -Dcm3leon.bench.dir} (default {@code target/bench-banks}), in {@code add} calls of {@code batch}
 * documents (each commits; each indexing thread writes one segment per call when {@code writeBufferMB} holds it), and
 * reused by later trials. Setup prints the ingest throughput and a recall/latency sweep over efSearch; the search
 * benchmarks then run at the {@code efSearch} parameter (the library's default).
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar MemoryBankBenchmark -p size=1000000
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx16g"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class MemoryBankBenchmark {
    static final int DIM = 512, K = 10, QUERIES = 100;
    static final long SEED = 1234;

    @Param({"100000", "1000000"})
    public int size;
    /** Defaults: {@link LuceneMemoryBank.HnswOptions#DEFAULTS}. */
    @Param({"16"})
    public int maxConn;
    @Param({"100"})
    public int beamWidth;
    @Param({"48000"})
    public int efSearch;
    /** Documents per {@code add} call. */
    @Param({"500000"})
    public int batch;
    /** Big enough that each indexing thread's share of a batch stays in memory until the call commits. */
    @Param({"3000"})
    public int writeBufferMB;

    private LuceneMemoryBank hnsw;
    private ExactMemoryBank exact;
    private float[][] queries;
    private int next;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        Path dir = Path.of(System.getProperty("cm3leon.bench.dir", "target/bench-banks"))
                .resolve("random-" + DIM + "d-" + size + "-m" + maxConn + "-bw" + beamWidth + "-b" + batch);
        boolean build = !Files.exists(dir.resolve("complete"));
        if (build && Files.exists(dir)) deleteTree(dir);
        var options = new LuceneMemoryBank.HnswOptions(maxConn, beamWidth, efSearch, writeBufferMB);
        hnsw = LuceneMemoryBank.open(dir, DIM, options);
        exact = new ExactMemoryBank(DIM);
        SplittableRandom random = new SplittableRandom(SEED);
        long buildNanos = 0;
        for (int from = 0; from < size; from += batch) {
            List<MemoryEntry> entries = new ArrayList<>(batch);
            for (int i = from; i < Math.min(size, from + batch); i++) entries.add(new MemoryEntry(Document.ofText("v" + i, "x"), unit(random)));
            exact.add(entries);
            if (build) {
                long t = System.nanoTime();
                hnsw.add(entries);
                buildNanos += System.nanoTime() - t;
                System.out.printf("  built %d documents, %.0f docs/s, %d segments%n", from + entries.size(),
                        (from + entries.size()) / (buildNanos / 1e9), hnsw.segmentCount());
            }
        }
        if (build) {
            System.out.printf("ingest: %d documents of %d-d in %.1f s = %.0f docs/s (M=%d, beamWidth=%d, add calls of %d, "
                            + "%d indexing threads, %d segments)%n", size, DIM, buildNanos / 1e9, size / (buildNanos / 1e9),
                    maxConn, beamWidth, batch, Parallel.threads(), hnsw.segmentCount());
            Files.createFile(dir.resolve("complete"));
        }
        queries = new float[QUERIES][];
        List<Set<String>> truth = new ArrayList<>();
        long exactNanos = 0;
        for (int q = 0; q < QUERIES; q++) {
            queries[q] = unit(random);
            Set<String> ids = new HashSet<>();
            long t = System.nanoTime();
            List<ScoredDocument> top = exact.search(queries[q], K);
            exactNanos += System.nanoTime() - t;
            top.forEach(d -> ids.add(d.id()));
            truth.add(ids);
        }
        System.out.printf("exact search: %.2f ms/query (size=%d)%n", exactNanos / 1e6 / QUERIES, size);
        for (int ef : new int[]{efSearch / 4, efSearch / 2, efSearch, efSearch * 2}) {
            int found = 0;
            long t = System.nanoTime();
            for (int q = 0; q < QUERIES; q++) {
                Set<String> ids = truth.get(q);
                found += (int) hnsw.search(queries[q], K, ef).stream().filter(d -> ids.contains(d.id())).count();
            }
            System.out.printf("recall@%d of HNSW vs exact: %.4f at efSearch=%d, %.2f ms/query (size=%d, M=%d, beamWidth=%d, %d segment(s), %d queries)%n",
                    K, found / (double) (QUERIES * K), ef, (System.nanoTime() - t) / 1e6 / QUERIES, size, maxConn, beamWidth,
                    hnsw.segmentCount(), QUERIES);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        hnsw.close();
        exact.close();
    }

    @Benchmark
    public List<ScoredDocument> hnswSearch() {
        return hnsw.search(queries[next++ % QUERIES], K);
    }

    @Benchmark
    public List<ScoredDocument> exactSearch() {
        return exact.search(queries[next++ % QUERIES], K);
    }

    /**
     * Ingest into a fresh bank: one committed batch of 1000 documents per invocation (docs/s = 1e6 / ms per op).
     * Each batch lands in small new segments whose graphs are cheap to build; the cost of inserting them into one
     * large graph is paid later by Lucene's merges (the build in {@link MemoryBankBenchmark#setup} measures both).
     */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
    @Warmup(iterations = 2)
    @Measurement(iterations = 8)
    public static class Ingest {
        @Param({"16"})
        public int maxConn;
        @Param({"100"})
        public int beamWidth;

        private Path dir;
        private LuceneMemoryBank bank;
        private SplittableRandom random;
        private int added;

        @Setup(Level.Trial)
        public void open() throws IOException {
            dir = Files.createTempDirectory("cm3leon-ingest");
            bank = LuceneMemoryBank.open(dir.resolve("bank"), DIM, new LuceneMemoryBank.HnswOptions(maxConn, beamWidth, 100));
            random = new SplittableRandom(SEED);
        }

        @Benchmark
        public void addBatchOf1000() {
            List<MemoryEntry> batch = new ArrayList<>(1000);
            for (int i = 0; i < 1000; i++) batch.add(new MemoryEntry(Document.ofText("i" + added, "x"), unit(random)));
            added += 1000;
            bank.add(batch);
        }

        @TearDown(Level.Trial)
        public void close() throws IOException {
            bank.close();
            deleteTree(dir);
        }
    }

    /** Gaussian coordinates, normalised: uniform on the sphere. */
    static float[] unit(SplittableRandom r) {
        float[] v = new float[DIM];
        for (int i = 0; i < DIM; i++) {
            double u = r.nextDouble(), w = r.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w));
        }
        CpuOps.l2Normalize(v, 0, DIM);
        return v;
    }

    static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
