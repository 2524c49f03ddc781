package dev.cm3leon.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code --bank solr://…} on {@code memory} and {@code --retrieve}, against a real one-node SolrCloud. Solr 9 runs on
 * Lucene 9 and this JVM holds the Lucene bank's Lucene 10, so the node runs in a JVM of its own, on the class path
 * that {@code cm3leon-solr}'s build writes (built before this module, as its dependency).
 */
class SolrBankCommandTest {
    static final Path DEMO = Path.of(System.getProperty("cm3leon.demoModel", "demo-model")).toAbsolutePath();
    static final Path SOLR_MODULE = Path.of("..", "cm3leon-solr", "target").toAbsolutePath().normalize();
    static Process node;
    static String solr;

    @TempDir
    static Path dir;

    @BeforeAll
    static void startSolr() throws Exception {
        Path classpath = SOLR_MODULE.resolve("test-classpath.txt");
        assertThat(classpath).as("cm3leon-solr's test class path (build that module first: bin/test does)").isRegularFile();
        String cp = SOLR_MODULE.resolve("test-classes") + java.io.File.pathSeparator + SOLR_MODULE.resolve("classes")
                + java.io.File.pathSeparator + Files.readString(classpath).strip();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        node = new ProcessBuilder(java, "-cp", cp, "-Dlog4j2.level=error", "dev.cm3leon.solr.SolrTestNode")
                .redirectError(dir.resolve("solr.log").toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8));
        String ready = CompletableFuture.supplyAsync(() -> {
            try {
                for (String line; (line = out.readLine()) != null; ) if (line.startsWith("ready ")) return line.substring(6);
                return null;
            } catch (IOException e) {
                return null;
            }
        }).get(180, TimeUnit.SECONDS);
        assertThat(ready).as("Solr started (see %s)", dir.resolve("solr.log")).startsWith("solr://");
        solr = ready;
    }

    @AfterAll
    static void stopSolr() throws Exception {
        if (node == null) return;
        node.getOutputStream().close();
        if (!node.waitFor(60, TimeUnit.SECONDS)) node.destroyForcibly();
    }

    /** The first 40 of the demo model's pairs, images where the model keeps them. */
    static Path pairs() throws IOException {
        Path file = dir.resolve("pairs.jsonl");
        if (!Files.exists(file)) {
            try (Stream<String> lines = Files.lines(DEMO.resolve(RetrievalMixin.SHIPPED_DOCUMENTS))) {
                Files.write(file, lines.filter(l -> !l.isBlank()).limit(40).toList());
            }
        }
        return file;
    }

    static CliRun run(String... args) {
        CliRun r = CliRun.of(args);
        assertThat(r.exit()).as(String.join(" ", args) + "\n" + r.err()).isZero();
        return r;
    }

    @Test
    void memoryCommandsAndRetrievalUseASolrCollectionAsTheyUseAFolder() throws IOException {
        String clip = DEMO.resolve("clip").toString(), images = DEMO.resolve("memory").toString();
        String collection = solr + "/demo", folder = dir.resolve("lucene").toString();
        for (String bank : List.of(collection, folder)) {
            run("memory", "add", "--bank", bank, "--clip", clip, "--captions", pairs().toString(), "--images", images, "--batch", "16");
        }
        assertThat(run("memory", "stats", "--bank", collection).out()).contains("SolrCloud").contains("documents:      40");
        String[] query = {"--clip", clip, "--text", "a large blick at the top left", "-k", "3", "--keep-near-copies"};
        CliRun fromSolr = run(concat(new String[]{"memory", "search", "--bank", collection}, query));
        CliRun fromFolder = run(concat(new String[]{"memory", "search", "--bank", folder}, query));
        assertThat(fromSolr.out()).contains("sticker-blick-1").isEqualTo(fromFolder.out());

        // --retrieve prepends the same documents whichever bank holds them: the same greedy image
        Path a = dir.resolve("solr.png"), b = dir.resolve("lucene.png");
        List<String> printed = new java.util.ArrayList<>();
        for (var bankAndOut : List.of(List.of(collection, a.toString()), List.of(folder, b.toString()))) {
            printed.add(run("text-to-image", "a large blick at the top left", "--model", DEMO.toString(), "--retrieve", "1",
                    "--bank", bankAndOut.get(0), "--keep-near-copies", "--greedy", "-o", bankAndOut.get(1)).out());
        }
        assertThat(printed.getFirst()).contains("retrieved sticker-blick-1");
        assertThat(printed.getFirst().lines().filter(l -> l.startsWith("retrieved")).toList())
                .isEqualTo(printed.getLast().lines().filter(l -> l.startsWith("retrieved")).toList());
        assertThat(Files.readAllBytes(a)).isEqualTo(Files.readAllBytes(b));
    }

    @Test
    void aCollectionThatDoesNotExistIsNamed() {
        CliRun r = CliRun.of("memory", "stats", "--bank", solr + "/missing");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("missing");
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
