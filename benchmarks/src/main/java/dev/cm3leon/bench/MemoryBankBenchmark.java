package dev.cm3leon.bench;

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

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Memory bank search: latency of the Lucene HNSW bank and of the exact bank, recall@10 of HNSW against exact, and
 * ingest throughput, on seeded random 512-d unit vectors (the hard case for HNSW: no cluster structure).
 *
 * <p>Building a bank of {@code size} vectors is slow (HNSW insertion), so the Lucene bank is built once per
 * (size, M, beamWidth) under {@code -Dcm3leon.bench.dir} (default {@code target/bench-banks}) and reused by later
 * trials; the build's throughput and the recall are printed to stdout at setup. {@code ingest} measures adding one
 * committed batch of 1000 documents to the built bank.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar MemoryBankBenchmark -p size=100000
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx12g"})
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
public class MemoryBankBenchmark {
    static final int DIM = 512, K = 10, QUERIES = 200, BATCH = 10_000;

    @Param({"100000", "1000000"})
    public int size;
    @Param({"32"})
    public int maxConn;
    @Param({"200"})
    public int beamWidth;
    @Param({"160"})
    public int efSearch;

    private LuceneMemoryBank hnsw;
    private ExactMemoryBank exact;
    private float[][] queries;
    private int next;
    private long ingested;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        Path dir = Path.of(System.getProperty("cm3leon.bench.dir", "target/bench-banks"))
                .resolve("random-" + DIM + "d-" + size + "-m" + maxConn + "-bw" + beamWidth);
        boolean build = !Files.exists(dir.resolve("complete"));
        if (build && Files.exists(dir)) deleteTree(dir);
        var options = new LuceneMemoryBank.HnswOptions(maxConn, beamWidth, efSearch);
        hnsw = LuceneMemoryBank.open(dir, DIM, options);
        exact = new ExactMemoryBank(DIM);
        SplittableRandom random = new SplittableRandom(20240601L);
        long buildNanos = 0;
        for (int from = 0; from < size; from += BATCH) {
            List<MemoryEntry> batch = new ArrayList<>(BATCH);
            for (int i = from; i < Math.min(size, from + BATCH); i++) batch.add(entry("v" + i, random));
            exact.add(batch);
            if (build) {
                long t = System.nanoTime();
                hnsw.add(batch);
                buildNanos += System.nanoTime() - t;
                if ((from / BATCH) % 10 == 9) System.out.printf("  built %d documents, %.0f docs/s%n", from + BATCH, (from + BATCH) / (buildNanos / 1e9));
            }
        }
        if (build) {
            System.out.printf("ingest: %d documents of %d-d in %.1f s = %.0f docs/s (M=%d, beamWidth=%d, %d per committed batch, %d segments)%n",
                    size, DIM, buildNanos / 1e9, size / (buildNanos / 1e9), maxConn, beamWidth, BATCH, hnsw.segmentCount());
            Files.createFile(dir.resolve("complete"));
        }
        queries = new float[QUERIES][];
        for (int q = 0; q < QUERIES; q++) queries[q] = unit(random);
        int found = 0;
        for (float[] q : queries) {
            Set<String> truth = new HashSet<>();
            exact.search(q, K).forEach(d -> truth.add(d.id()));
            found += (int) hnsw.search(q, K).stream().filter(d -> truth.contains(d.id())).count();
        }
        System.out.printf("recall@%d of HNSW vs exact: %.4f (size=%d, M=%d, beamWidth=%d, efSearch=%d, %d segments, %d queries)%n",
                K, found / (double) (QUERIES * K), size, maxConn, beamWidth, efSearch, hnsw.segmentCount(), QUERIES);
        ingested = 0;
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

    /** One committed batch of 1000 new documents into the built bank (ms per batch; docs/s = 1e6 / score). */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 1)
    @Measurement(iterations = 5)
    public void ingest() {
        SplittableRandom random = new SplittableRandom(ingested);
        List<MemoryEntry> batch = new ArrayList<>(1000);
        for (int i = 0; i < 1000; i++) batch.add(entry("extra" + ingested++, random));
        hnsw.add(batch);
    }

    private static MemoryEntry entry(String id, SplittableRandom random) {
        return new MemoryEntry(Document.ofText(id, id), unit(random));
    }

    private static float[] unit(SplittableRandom r) {
        float[] v = new float[DIM];
        double norm = 0;
        for (int i = 0; i < DIM; i++) {
            double u = r.nextDouble(), w = r.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w));
            norm += v[i] * v[i];
        }
        float inv = (float) (1 / Math.sqrt(norm));
        for (int i = 0; i < DIM; i++) v[i] *= inv;
        return v;
    }

    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
        }
    }
}
