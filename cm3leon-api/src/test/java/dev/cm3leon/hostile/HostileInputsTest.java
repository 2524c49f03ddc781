package dev.cm3leon.hostile;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Every hostile input ends in a typed exception that names the file and the field or tensor, within ten seconds and a
 * bounded allocation, and the process loads a good model afterwards.
 */
class HostileInputsTest {
    /** What reading one hostile input may allocate; the largest legitimate reads are a 100 MB header, a 128 MB inflate. */
    private static final long ALLOCATION_LIMIT = 400L << 20;

    @TempDir static Path root;
    static List<HostileCase> corpus;

    @BeforeAll
    static void generate() throws Exception {
        corpus = HostileCorpus.write(root);
    }

    @Test
    void theCorpusCoversEveryFamilyWithAtLeast200Cases() {
        Map<String, Long> perFamily = corpus.stream().collect(Collectors.groupingBy(HostileCase::family, TreeMap::new, Collectors.counting()));
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(200);
        assertThat(perFamily).containsKeys("safetensors", "sharded", "config", "checkpoint", "tokenizer", "ckpt", "image", "memory bank");
    }

    @TestFactory
    Stream<DynamicTest> everyHostileInputIsRefusedWithATypedExceptionNamingTheCulprit() {
        return corpus.stream().map(c -> DynamicTest.dynamicTest(c.toString(), () -> {
            Refusal r = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> read(c), () -> c + " took more than 10 s");
            assertThat(r.error()).as(c.toString()).isNotNull();
            assertThat(r.error()).as("%s threw %s", c, r.error()).isInstanceOf(Cm3LeonException.class);
            assertThat(r.error().getClass()).as(c.toString()).isNotEqualTo(Cm3LeonException.class);
            for (String fragment : c.mustName()) assertThat(r.error().getMessage()).as(c.toString()).contains(fragment);
            assertThat(r.allocated()).as("bytes allocated reading %s", c).isLessThan(ALLOCATION_LIMIT);
        }));
    }

    @AfterAll
    static void aGoodModelStillLoadsAndRuns() {
        try (Cm3Leon model = Cm3Leon.load(Fixtures.path("chameleon/model"))) {
            assertThat(model.generateGreedy(new int[]{0, 40, 41}, 4)).hasSize(4);
        }
    }

    private record Refusal(Throwable error, long allocated) {
    }

    private static Refusal read(HostileCase c) {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        Throwable error = catchThrowable(() -> c.reader().read(c.input()));
        return new Refusal(error, threads.getCurrentThreadAllocatedBytes() - before);
    }
}
