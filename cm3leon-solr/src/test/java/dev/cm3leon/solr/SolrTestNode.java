package dev.cm3leon.solr;

import org.apache.solr.cloud.MiniSolrCloudCluster;
import org.apache.solr.embedded.JettySolrRunner;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A one-node SolrCloud (Solr's test cluster, ZooKeeper inside) for tests that cannot hold Solr's Lucene 9 in their own
 * JVM, such as the command line's, which loads Lucene 10: it prints {@code ready solr://host:port}, serves until its
 * standard input closes, then shuts down. Run with this module's test class path ({@code target/test-classpath.txt}).
 */
public final class SolrTestNode {
    private SolrTestNode() {
    }

    public static void main(String[] args) throws Exception {
        Path base = Files.createTempDirectory("cm3leon-solr-node");
        MiniSolrCloudCluster cluster = new MiniSolrCloudCluster.Builder(1, base).build();
        JettySolrRunner node = cluster.getJettySolrRunners().getFirst();
        System.out.println("ready " + SolrBankAddress.SCHEME + node.getBaseUrl().getHost() + ":" + node.getBaseUrl().getPort());
        System.out.flush();
        while (System.in.read() >= 0) {
            // serve until the parent closes our input (or exits)
        }
        cluster.shutdown();
        try (var files = Files.walk(base)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
        System.exit(0);
    }
}
