package dev.cm3leon.retrieval;

import dev.cm3leon.solr.SolrBankAddress;
import dev.cm3leon.solr.SolrMemoryBank;
import org.apache.solr.client.solrj.SolrClient;
import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.embedded.JettySolrRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The memory bank contract on a real SolrCloud: two Solr nodes and ZooKeeper in this JVM (Solr's own test cluster).
 * Each contract test gets a fresh collection of two shards; the cluster test below uses two shards with two replicas
 * each, one on each node, and stops a node while searches run.
 */
class SolrMemoryBankTest extends MemoryBankContract {
    static MiniSolrCloudCluster cluster;
    static Path baseDir;
    static SolrClient client;
    static final AtomicInteger collections = new AtomicInteger();

    @BeforeAll
    static void startCluster() throws Exception {
        baseDir = Files.createTempDirectory("cm3leon-solr");
        cluster = new MiniSolrCloudCluster.Builder(2, baseDir).build();
        client = cluster.getSolrClient();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        cluster.shutdown();
        try (var files = Files.walk(baseDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Override
    MemoryBank newBank(int dimension) {
        return SolrMemoryBank.create(client, "contract" + collections.incrementAndGet(), dimension, 2, 1, SolrMemoryBank.SearchOptions.DEFAULTS);
    }

    @Test
    void tenThousandDocumentsOnTwoShardsWithReplicasKeepRecallAndSurviveANodeStopping() throws Exception {
        int n = 10_000, d = 512;                     // CLIP ViT-B's embedding width
        SolrMemoryBank.create(client, "fault", d, 2, 2, SolrMemoryBank.SearchOptions.DEFAULTS).close();
        String address = SolrBankAddress.SCHEME + cluster.getJettySolrRunners().stream()
                .map(j -> j.getBaseUrl().getHost() + ":" + j.getBaseUrl().getPort()).collect(Collectors.joining(",")) + "/fault";
        List<float[]> vs = Vectors.units(21, n, d);
        try (MemoryBank solr = SolrMemoryBank.open(SolrBankAddress.parse(address), SolrMemoryBank.SearchOptions.DEFAULTS);
             ExactMemoryBank exact = new ExactMemoryBank(d)) {
            long start = System.nanoTime();
            for (int i = 0; i < n; i += 2500) {
                solr.add(Vectors.entries("v", vs, i, i + 2500));
                exact.add(Vectors.entries("v", vs, i, i + 2500));
            }
            assertThat(solr.size()).isEqualTo(n);
            // One segment per replica: the single HNSW graph of 5 000 vectors a bank's segments merge into, the harder
            // layout for recall (smaller segments are each searched for as many candidates).
            client.optimize("fault", true, true, 1);
            long indexedMs = (System.nanoTime() - start) / 1_000_000;

            // recall@10 against the exact bank, at the bank's default search settings
            SplittableRandom r = new SplittableRandom(5);
            int found = 0, queries = 100;
            start = System.nanoTime();
            for (int q = 0; q < queries; q++) {
                float[] query = Vectors.unit(r, d);
                Set<String> truth = exact.search(query, 10).stream().map(ScoredDocument::id).collect(Collectors.toSet());
                found += (int) solr.search(query, 10).stream().filter(h -> truth.contains(h.id())).count();
            }
            double recall = found / (10.0 * queries);
            System.out.printf("Solr bank recall@10 on %d random %d-d unit vectors, 2 shards × 2 replicas of one segment, "
                    + "%d candidates per shard (the default): %.3f; indexed and merged in %d ms, %.1f ms per query%n", n, d,
                    SolrMemoryBank.SearchOptions.DEFAULTS.candidates(), recall, indexedMs, (System.nanoTime() - start) / 1e6 / queries);
            assertThat(recall).isGreaterThanOrEqualTo(0.95);

            // searches run on while a node stops; none may fail, and every document stays
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            AtomicInteger afterStop = new AtomicInteger();
            AtomicBoolean stopped = new AtomicBoolean(), done = new AtomicBoolean();
            Thread searcher = Thread.ofPlatform().name("searcher").start(() -> {
                SplittableRandom qr = new SplittableRandom(9);
                while (!done.get()) {
                    int i = qr.nextInt(n);
                    try {
                        List<ScoredDocument> hits = solr.search(vs.get(i), 1);
                        if (hits.isEmpty() || !hits.getFirst().id().equals("v" + i)) failures.add(new AssertionError("v" + i + " → " + hits));
                        if (stopped.get()) afterStop.incrementAndGet();
                    } catch (RuntimeException e) {
                        failures.add(e);
                    }
                }
            });
            Thread.sleep(500);
            JettySolrRunner gone = cluster.stopJettySolrRunner(0);
            cluster.waitForJettyToStop(gone);
            stopped.set(true);
            long until = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < until && afterStop.get() < 50) Thread.sleep(100);
            done.set(true);
            searcher.join();
            assertThat(failures).isEmpty();
            assertThat(afterStop.get()).as("searches answered with a node stopped").isPositive();
            assertThat(solr.size()).isEqualTo(n);
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < n; i += 97) {
                assertThat(solr.search(vs.get(i), 1).getFirst().id()).isEqualTo("v" + i);
                seen.add("v" + i);
            }
            assertThat(seen).hasSize((n + 96) / 97);
        }
    }

    @Test
    void addressesNameTheirNodesAndCollection() {
        SolrBankAddress a = SolrBankAddress.parse("solr://10.0.0.1:8983,solr2:8984/bank");
        assertThat(a.nodeUrls()).containsExactly("http://10.0.0.1:8983/solr", "http://solr2:8984/solr");
        assertThat(a.collection()).isEqualTo("bank");
        for (String bad : new String[]{"solr://host:8983", "solr://host/bank", "solr:///bank", "http://host:8983/bank", "solr://h:1/a/b"}) {
            assertThatThrownBy(() -> SolrBankAddress.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aCollectionThatIsNotABankIsRefusedClearly() {
        assertThatThrownBy(() -> SolrMemoryBank.open(client, "no-such-collection", SolrMemoryBank.SearchOptions.DEFAULTS))
                .isInstanceOf(MemoryBankException.class).hasMessageContaining("no-such-collection");
    }
}
