package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code inspect tokenize} reproduces the HF goldens through JSON Lines. */
class InspectTokenizeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    private static String tokenizer(String name) {
        JsonNode entry = Fixtures.json("tokenizers/manifest.json").get("tokenizers").get(name);
        return Fixtures.path("tokenizers/" + entry.get("file").asText()).toString();
    }

    private static List<JsonNode> cases(String name) {
        List<JsonNode> cases = new ArrayList<>();
        Fixtures.json("tokenizers/golden_" + name + ".json").get("cases").forEach(cases::add);
        return cases;
    }

    private static Path jsonl(Path dir, String name, List<String> lines) throws IOException {
        return Files.write(dir.resolve(name), lines, StandardCharsets.UTF_8);
    }

    @Test
    void encodesEveryCorpusStringAsHuggingFaceDoes(@TempDir Path dir) throws IOException {
        List<JsonNode> cases = cases("mistral");
        List<String> texts = new ArrayList<>();
        for (JsonNode c : cases) {
            texts.add(JSON.writeValueAsString(c.get("text").asText()));
        }
        Path input = jsonl(dir, "texts.jsonl", texts);

        CliRun plain = run("inspect", "tokenize", "--tokenizer", tokenizer("mistral"), "--input", input.toString());
        CliRun special = run("inspect", "tokenize", "--tokenizer", tokenizer("mistral"), "--input", input.toString(),
                "--add-special-tokens");

        assertThat(plain.exit()).isZero();
        assertThat(special.exit()).isZero();
        assertThat(plain.out().lines().toList()).containsExactlyElementsOf(
                cases.stream().map(c -> c.get("ids").toString()).toList());
        assertThat(special.out().lines().toList()).containsExactlyElementsOf(
                cases.stream().map(c -> c.get("ids_with_special").toString()).toList());
    }

    @Test
    void decodesIdArraysKeepingOrSkippingSpecialTokens(@TempDir Path dir) throws IOException {
        List<JsonNode> cases = cases("qwen3").subList(0, 120);
        Path input = jsonl(dir, "ids.jsonl", cases.stream().map(c -> c.get("ids_with_special").toString()).toList());

        CliRun keep = run("inspect", "tokenize", "--tokenizer", tokenizer("qwen3"), "--input", input.toString(),
                "--decode");
        CliRun skip = run("inspect", "tokenize", "--tokenizer", tokenizer("qwen3"), "--input", input.toString(),
                "--decode", "--skip-special-tokens");

        assertThat(keep.exit()).isZero();
        List<String> kept = new ArrayList<>();
        for (String line : keep.out().lines().toList()) {
            kept.add(JSON.readTree(line).textValue());
        }
        List<String> skipped = new ArrayList<>();
        for (String line : skip.out().lines().toList()) {
            skipped.add(JSON.readTree(line).textValue());
        }
        assertThat(kept).containsExactlyElementsOf(
                cases.stream().map(c -> c.get("decode_with_special_keep").asText()).toList());
        assertThat(skipped).containsExactlyElementsOf(
                cases.stream().map(c -> c.get("decode_with_special_skip").asText()).toList());
        assertThat(keep.out()).as("compact JSON with non-ASCII as is").contains("\"你好，世界\"")
                .doesNotContain("\\u4f60");
    }

    @Test
    void printsUtf8WhateverTheLocale(@TempDir Path dir) throws IOException {
        Path input = jsonl(dir, "ids.jsonl", List.of("[19526, 254, 25001, 121]"));
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.US_ASCII));
        try {
            int exit = Main.commandLine().execute("inspect", "tokenize", "--tokenizer", tokenizer("gpt2"),
                    "--input", input.toString(), "--decode");
            assertThat(exit).isZero();
        } finally {
            System.setOut(original);
        }
        assertThat(bytes.toString(StandardCharsets.UTF_8).strip()).isEqualTo("\"你好\"");
    }

    @Test
    void failsWithOneLineNamingTheLineOfBadInput(@TempDir Path dir) throws IOException {
        Path notString = jsonl(dir, "bad.jsonl", List.of("\"fine\"", "", "[1, 2]"));
        CliRun r = run("inspect", "tokenize", "--tokenizer", tokenizer("gpt2"), "--input", notString.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).isEqualTo("cm3leon: bad.jsonl:3: expected a JSON string, got array");
        assertThat(r.out()).isEqualTo("[38125]");

        Path notJson = jsonl(dir, "broken.jsonl", List.of("{oops"));
        r = run("inspect", "tokenize", "--tokenizer", tokenizer("gpt2"), "--input", notJson.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).startsWith("cm3leon: broken.jsonl:1: not JSON").doesNotContain("\n");

        Path badIds = jsonl(dir, "ids.jsonl", List.of("[1, -2]"));
        r = run("inspect", "tokenize", "--tokenizer", tokenizer("gpt2"), "--input", badIds.toString(), "--decode");
        assertThat(r.err()).isEqualTo("cm3leon: ids.jsonl:1: element 1 is not a token id: -2");

        r = run("inspect", "tokenize", "--tokenizer", tokenizer("gpt2"), "--input", badIds.toString(),
                "--skip-special-tokens");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).isEqualTo("cm3leon: --skip-special-tokens applies to --decode only");
    }

    @Test
    void reportsABrokenTokenizerFileInOneLine(@TempDir Path dir) throws IOException {
        Path broken = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"Nope\"}}");
        Path input = jsonl(dir, "texts.jsonl", List.of("\"hi\""));
        CliRun r = run("inspect", "tokenize", "--tokenizer", broken.toString(), "--input", input.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).isEqualTo("cm3leon: tokenizer.json: model type 'Nope' is not supported (only BPE is)");
    }
}
