package dev.cm3leon.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The bench command end to end on a tiny synthetic model: the table's shape, never its speeds. */
class BenchCommandTest {
    @TempDir Path dir;

    @Test
    void printsOneLinePerTestWithTheRooflineBesideIt() {
        CliRun r = CliRun.of("bench", "--synthetic", "tiny", "--dir", dir.toString(),
                "-p", "16", "-n", "4", "-s", "1,2", "-r", "1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("| model", "| pp16 ", "| tg4 ", "GFLOP/s", "GB/s", "% of roofline", "VmRSS", "start-up:");
        assertThat(r.out().lines().filter(l -> l.startsWith("| synthetic-tiny"))).hasSize(3);
        assertThat(Files.isRegularFile(dir.resolve("synthetic-tiny/model.safetensors"))).isTrue();
    }

    @Test
    void quantizesAtLoadAndReadsGguf() {
        CliRun r = CliRun.of("bench", "--synthetic", "tiny", "--synthetic-format", "gguf",
                "--dir", dir.toString(), "-p", "0", "-n", "2", "-s", "1", "-r", "1", "--quantize", "q4_0");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("| q4_0 ");
    }

    @Test
    void needsExactlyOneModel() {
        CliRun r = CliRun.of("bench");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--model or --synthetic");
    }
}
