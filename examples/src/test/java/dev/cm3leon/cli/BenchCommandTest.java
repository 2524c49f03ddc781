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
    void benchImageTimesEveryPartOfAWholeImageAndWritesTheJsonKeys() throws Exception {
        // Chameleon's VQ-GAN narrowed to 32 base channels keeps the 1024 tokens and the 512×512 decode, at a 16th of the work.
        Path json = dir.resolve("image.json");
        CliRun r = CliRun.of("bench", "image", "--synthetic", "tiny-image", "--synthetic-vq-channels", "32",
                "--dir", dir.toString(), "--json", json.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("2-stream CFG", "1024 image tokens", "| prompt prefill", "| decode step (mean of 1024)",
                "| sampling + guidance per step", "| VQ decode 32² → 512²", "% of FMA peak", "| PNG encode", "| seconds per image", "VmRSS");
        var j = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.toFile());
        for (String key : new String[]{"seconds_per_image", "image_tokens", "streams", "samples", "decode_step_ms_mean",
                "decode_step_ms_first", "decode_step_ms_last", "weights_read_roofline_ms", "sampling_ms_per_step", "vq_decode_s",
                "vq_decode_gflop", "fma_peak_gflops", "forward_passes_per_image", "resident_bytes", "kv_cache_bytes", "machine"}) {
            assertThat(j.has(key)).as(key).isTrue();
        }
        assertThat(j.get("image_tokens").asInt()).isEqualTo(1024);
        assertThat(j.get("streams").asInt()).isEqualTo(2);
        assertThat(j.get("forward_passes_per_image").asDouble()).isEqualTo(1025);
        assertThat(j.get("kv_cache_bytes").asLong()).isPositive();
    }

    @Test
    void needsExactlyOneModel() {
        CliRun r = CliRun.of("bench");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--model or --synthetic");
    }
}
