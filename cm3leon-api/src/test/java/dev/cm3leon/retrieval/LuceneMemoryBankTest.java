package dev.cm3leon.retrieval;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LuceneMemoryBankTest extends MemoryBankContract {
    @TempDir
    Path dir;

    @Override
    MemoryBank newBank(int dimension) {
        return LuceneMemoryBank.open(dir.resolve("bank"), dimension);
    }

    @Test
    void documentsSurviveClosingAndReopening() {
        List<float[]> vs = Vectors.units(21, 50, D);
        bank.add(Vectors.entries("p", vs, 0, vs.size()));
        bank.delete("p3");
        bank.close();
        try (LuceneMemoryBank reopened = LuceneMemoryBank.open(dir.resolve("bank"))) {
            assertThat(reopened.dimension()).isEqualTo(D);
            assertThat(reopened.size()).isEqualTo(49);
            assertThat(reopened.search(vs.get(7), 1).getFirst().document()).isEqualTo(Document.ofText("p7", "caption p7"));
            assertThat(reopened.search(vs.get(3), 3)).extracting(ScoredDocument::id).doesNotContain("p3");
        }
        bank = newBank(D);
    }

    @Test
    void anotherDimensionIsAClearError() {
        bank.close();
        assertThatThrownBy(() -> LuceneMemoryBank.open(dir.resolve("bank"), 512)).isInstanceOf(MemoryBankException.class)
                .hasMessageContaining("holds " + D + "-dimensional").hasMessageContaining("512-dimensional");
        bank = newBank(D);
    }

    @Test
    void aBankFromANewerFormatIsRefused() throws Exception {
        bank.close();
        Path marker = dir.resolve("bank").resolve(BankFormat.FILE);
        Files.writeString(marker, Files.readString(marker).replaceAll("\"format_version\"\\s*:\\s*1", "\"format_version\" : 7"));
        assertThatThrownBy(() -> LuceneMemoryBank.open(dir.resolve("bank"), D)).isInstanceOf(MemoryBankException.class)
                .hasMessageContaining("format version 7").hasMessageContaining("newer");
        new BankFormat(BankFormat.CURRENT, D).write(dir.resolve("bank"));
        bank = newBank(D);
    }

    @Test
    void aFolderThatIsNotABankIsLeftAlone() throws Exception {
        Path other = Files.createDirectories(dir.resolve("photos"));
        Files.writeString(other.resolve("holiday.jpg"), "not an index");
        assertThatThrownBy(() -> LuceneMemoryBank.open(other, D)).isInstanceOf(MemoryBankException.class).hasMessageContaining("not empty");
        assertThatThrownBy(() -> LuceneMemoryBank.open(dir.resolve("nothing"))).isInstanceOf(MemoryBankException.class).hasMessageContaining("no memory bank");
    }

    @Test
    void hnswRecallAgainstExactSearchIsAtLeast95Percent() {
        int n = 2000, d = 64, k = 10;
        List<float[]> vs = Vectors.units(31, n, d);
        // a modest graph and candidate list (Lucene's defaults), so the test checks the graph, not a near-exhaustive scan
        var options = new LuceneMemoryBank.HnswOptions(16, 100, 100);
        try (LuceneMemoryBank hnsw = LuceneMemoryBank.open(dir.resolve("recall"), d, options); ExactMemoryBank exact = new ExactMemoryBank(d)) {
            for (int i = 0; i < n; i += 1000) {
                List<MemoryEntry> batch = Vectors.entries("r", vs, i, i + 1000);
                hnsw.add(batch);
                exact.add(batch);
            }
            SplittableRandom r = new SplittableRandom(32);
            int found = 0, queries = 50;
            for (int q = 0; q < queries; q++) {
                float[] query = Vectors.unit(r, d);
                var truth = exact.search(query, k).stream().map(ScoredDocument::id).toList();
                found += (int) hnsw.search(query, k).stream().filter(h -> truth.contains(h.id())).count();
            }
            double recall = found / (double) (queries * k);
            System.out.printf("HNSW recall@%d on %d random %d-d vectors: %.3f%n", k, n, d, recall);
            assertThat(recall).isGreaterThanOrEqualTo(0.95);
        }
    }

    @Test
    void compactingMergesSegmentsAndKeepsEveryDocumentFindable() {
        int n = 3000, d = 64;
        List<float[]> vs = Vectors.units(61, n, d);
        // a 1 MB write buffer flushes several segments per call; merging them runs on every core (merge workers)
        var options = new LuceneMemoryBank.HnswOptions(16, 100, 200, 1);
        try (LuceneMemoryBank small = LuceneMemoryBank.open(dir.resolve("segments"), d, options)) {
            for (int i = 0; i < n; i += 1000) small.add(Vectors.entries("s", vs, i, i + 1000));
            assertThat(small.segmentCount()).isGreaterThan(1);
            small.compact(1);
            assertThat(small.segmentCount()).isEqualTo(1);
            assertThat(small.size()).isEqualTo(n);
            for (int i = 0; i < n; i += 7) {
                ScoredDocument top = small.search(vs.get(i), 1).getFirst();
                assertThat(top.id()).isEqualTo("s" + i);
                assertThat(top.embedding()).containsExactly(vs.get(i));
            }
        }
    }

    @Test
    void aWriteBufferThatHoldsTheCallWritesOneSegmentPerIndexingThread() {
        int n = 2000, d = 64;
        List<float[]> vs = Vectors.units(62, n, d);
        var options = LuceneMemoryBank.HnswOptions.DEFAULTS.withWriteBufferMB(64);
        try (LuceneMemoryBank big = LuceneMemoryBank.open(dir.resolve("bulk"), d, options)) {
            big.add(Vectors.entries("b", vs, 0, n));
            assertThat(big.segmentCount()).isBetween(1, dev.cm3leon.engine.cpu.Parallel.threads());
            assertThat(big.size()).isEqualTo(n);
        }
    }

    @Test
    void invalidHnswOptionsNameTheField() {
        assertThatThrownBy(() -> new LuceneMemoryBank.HnswOptions(1, 100, 100)).hasMessageContaining("maxConn");
        assertThatThrownBy(() -> new LuceneMemoryBank.HnswOptions(16, 0, 100)).hasMessageContaining("beamWidth");
        assertThatThrownBy(() -> new LuceneMemoryBank.HnswOptions(16, 100, 0)).hasMessageContaining("efSearch");
        assertThatThrownBy(() -> new LuceneMemoryBank.HnswOptions(16, 100, 100, 0)).hasMessageContaining("writeBufferMB");
        assertThatThrownBy(() -> LuceneMemoryBank.HnswOptions.DEFAULTS.withEfSearch(0)).hasMessageContaining("efSearch must be at least 1, found 0");
        assertThat(LuceneMemoryBank.HnswOptions.DEFAULTS.withEfSearch(400))
                .isEqualTo(new LuceneMemoryBank.HnswOptions(16, 100, 400, LuceneMemoryBank.HnswOptions.DEFAULTS.writeBufferMB()));
    }

    @Test
    void aReadOnlyBankSeesTheWritersCommitsAndRefusesWrites() {
        List<float[]> vs = Vectors.units(51, 3, D);
        bank.add(Vectors.entry("first", vs.get(0)));
        try (LuceneMemoryBank reader = LuceneMemoryBank.openReadOnly(dir.resolve("bank"))) {
            assertThat(reader.size()).isEqualTo(1);
            bank.add(Vectors.entry("second", vs.get(1)));
            assertThat(reader.size()).isEqualTo(2);
            assertThat(reader.search(vs.get(1), 1).getFirst().id()).isEqualTo("second");
            assertThatThrownBy(() -> reader.add(Vectors.entry("third", vs.get(2)))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("read-only");
        }
    }

    @Test
    void aSecondWriterIsRefusedClearly() {
        assertThatThrownBy(() -> LuceneMemoryBank.open(dir.resolve("bank"), D)).isInstanceOf(MemoryBankException.class)
                .hasMessageContaining("open for writing elsewhere");
    }

    @Test
    void readersSearchConcurrentlyWhileOneWriterAdds() throws Exception {
        List<float[]> vs = Vectors.units(41, 300, D);
        AtomicBoolean writing = new AtomicBoolean(true);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch started = new CountDownLatch(2);
        List<Thread> readers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int seed = t;
            readers.add(Thread.ofPlatform().start(() -> {
                SplittableRandom r = new SplittableRandom(seed);
                long last = 0;
                started.countDown();
                try {
                    while (writing.get()) {
                        long size = bank.size();
                        if (size < last) throw new AssertionError("size went back from " + last + " to " + size);
                        last = size;
                        List<ScoredDocument> hits = bank.search(Vectors.unit(r, D), 5);
                        if (hits.size() > 5 || (size >= 5 && hits.size() < 5)) throw new AssertionError("got " + hits.size() + " hits");
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        started.await();
        for (int i = 0; i < vs.size(); i += 50) bank.add(Vectors.entries("c", vs, i, i + 50));
        writing.set(false);
        for (Thread t : readers) t.join();
        assertThat(failures).isEmpty();
        assertThat(bank.size()).isEqualTo(300);
    }
}
