package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The parity tools, run as a user runs them, against the fixtures. */
class InspectCommandsTest {
    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    static String model() {
        return Fixtures.path("chameleon/model").toString();
    }

    static String csv(JsonNode ids) {
        return Arrays.stream(Fixtures.ints(ids)).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    @Test
    void generatePrintsTheReferenceIds() {
        JsonNode c = Fixtures.json("chameleon/golden.json").get("generate").get("cases").get("eos_stop");
        CliRun r = run("inspect", "generate", "--model", model(), "--tokens", csv(c.get("prompt_ids")), "--max-new-tokens", "16", "--greedy");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo(csv(c.get("new_token_ids")));
    }

    @Test
    void guidedImageModeReproducesTheReference() {
        JsonNode c = Fixtures.json("chameleon/cfg_golden.json").get("cases").get("scale_3");
        CliRun r = run("inspect", "generate", "--model", model(), "--tokens", csv(c.get("cond_prompt")), "--mode", "image",
                "--uncond-tokens", csv(c.get("uncond_prompt")), "--cfg-scale", "3");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo(csv(c.get("output_ids")));
    }

    @Test
    void logitsAreWrittenAsFloat32RowMajor(@TempDir Path dir) throws Exception {
        JsonNode c = Fixtures.json("chameleon/golden.json").get("forward").get("text");
        Path out = dir.resolve("logits.f32");
        CliRun r = run("inspect", "logits", "--model", model(), "--tokens", csv(c.get("input_ids")), "--out", out.toString());
        assertThat(r.exit()).isZero();
        float[] actual = Fixtures.f32(out), expected = Fixtures.f32("chameleon", c.get("logits"));
        assertThat(Fixtures.maxAbsDiff(actual, expected)).isLessThanOrEqualTo(1e-4);
        try (var files = Files.list(dir)) {
            assertThat(files.toList()).containsExactly(out);
        }
    }

    @Test
    void badInputEndsWithOneLineAndANonZeroExit(@TempDir Path dir) {
        for (String[] args : new String[][]{
                {"inspect", "generate", "--model", model(), "--tokens", "0,x"},
                {"inspect", "generate", "--model", model(), "--tokens", "0,4000"},
                {"inspect", "generate", "--model", dir.toString(), "--tokens", "0"},
                {"inspect", "logits", "--model", model(), "--tokens", "0"},
                {"inspect", "generate", "--model", model(), "--tokens", "0,5", "--mode", "image"}}) {
            CliRun r = run(args);
            assertThat(r.exit()).as(String.join(" ", args)).isNotZero();
            assertThat(r.err().lines().filter(l -> l.startsWith("cm3leon: ")).count()).as(r.err()).isEqualTo(1);
        }
    }
}
