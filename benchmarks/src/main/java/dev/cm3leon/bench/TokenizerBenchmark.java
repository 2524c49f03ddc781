package dev.cm3leon.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Text-tokenizer encode throughput. The {@code megabytes} counter is the rate to read: MB of UTF-8 input encoded per
 * second (JMH prints it as ops/s). Inputs are about 256 KB: English prose, and the fixture corpus (CJK, emoji,
 * combining marks, code, added tokens) joined by newlines.
 *
 * <p>Run with {@code java -jar benchmarks/target/benchmarks.jar TokenizerBenchmark} from the checkout; the fixtures
 * are found as the tests find them ({@code -Dcm3leon.fixtures=...}, else {@code cm3leon-api/src/test/fixtures} under the
 * working directory or a parent).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
@State(Scope.Benchmark)
public class TokenizerBenchmark {
    private static final int INPUT_CHARS = 256 * 1024;

    @Param({"gpt2", "chameleon_like"})
    public String tokenizer;

    @Param({"english", "mixed"})
    public String text;

    private TextTokenizer textTokenizer;
    private String input;
    private double inputMegabytes;

    /** Megabytes encoded; JMH reports it per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Throughput {
        public double megabytes;

        @Setup(Level.Iteration)
        public void reset() {
            megabytes = 0;
        }
    }

    @Setup
    public void setUp() throws IOException {
        Path fixtures = fixtures().resolve("tokenizers");
        JsonNode manifest = new ObjectMapper().readTree(fixtures.resolve("manifest.json").toFile());
        textTokenizer = TextTokenizer.load(fixtures.resolve(manifest.get("tokenizers").get(tokenizer).get("file")
                .asText()));
        input = switch (text) {
            case "english" -> english();
            case "mixed" -> mixed(fixtures.resolve("corpus.json"));
            default -> throw new IllegalArgumentException("text " + text);
        };
        inputMegabytes = input.getBytes(StandardCharsets.UTF_8).length / 1e6;
    }

    @Benchmark
    public int[] encode(Throughput throughput) {
        int[] ids = textTokenizer.encode(input, false);
        throughput.megabytes += inputMegabytes;
        return ids;
    }

    /** Sentences shuffled from a fixed paragraph, so that words repeat as in prose but the text does not. */
    private static String english() {
        String[] sentences = ("The library reads the checkpoint from disk and maps its weights into memory. "
                + "Each request carries a prompt, a seed and the number of samples it wants. "
                + "When a picture is asked for, the model writes image tokens that the decoder turns into pixels. "
                + "Retrieval finds documents that look like the query and puts them before the prompt. "
                + "Guidance mixes the conditional and unconditional streams with a chosen scale. "
                + "It was a quiet evening in the harbour, and the boats rocked gently against the wooden piers. "
                + "Nobody expected the weather to change so quickly, yet by midnight the wind was howling. "
                + "She wrote down every number twice, because the first attempt had been wrong by 3.5 percent. "
                + "Programs that handle text must agree on how words are split, or their outputs drift apart. ")
                .split("(?<=\\. )");
        return shuffled(List.of(sentences), "");
    }

    private static String mixed(Path corpus) throws IOException {
        List<String> strings = new ArrayList<>();
        new ObjectMapper().readTree(corpus.toFile()).forEach(node -> strings.add(node.asText()));
        return shuffled(strings, "\n");
    }

    private static String shuffled(List<String> parts, String separator) {
        Random random = new Random(2024);
        StringBuilder out = new StringBuilder(INPUT_CHARS + 512);
        while (out.length() < INPUT_CHARS) {
            out.append(parts.get(random.nextInt(parts.size()))).append(separator);
        }
        return out.toString();
    }

    private static Path fixtures() {
        String property = System.getProperty("cm3leon.fixtures");
        if (property != null && Files.isDirectory(Path.of(property))) {
            return Path.of(property);
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve("cm3leon-api/src/test/fixtures"))) {
                return dir.resolve("cm3leon-api/src/test/fixtures");
            }
        }
        throw new IllegalStateException("fixtures not found: run from the checkout or pass -Dcm3leon.fixtures=DIR");
    }
}
