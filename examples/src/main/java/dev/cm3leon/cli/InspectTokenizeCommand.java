package dev.cm3leon.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.tokenizer.TextTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Text tokenizer parity: JSON Lines in, JSON Lines out, so that its output can be compared line by line with HF
 * {@code tokenizers} run on the same file.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = {"Encode one JSON string per input line, printing one JSON array of ids per line;",
                "with --decode, decode one JSON array of ids per line, printing one JSON string per line.",
                "Blank input lines are skipped."})
final class InspectTokenizeCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Spec CommandSpec spec;
    @Option(names = "--tokenizer", required = true, description = "tokenizer.json (or tokenizer.json.gz)") Path tokenizer;
    @Option(names = "--input", required = true, description = "JSON Lines file, UTF-8") Path input;
    @Option(names = "--add-special-tokens", description = "let the post-processor add the model's special tokens (BOS…)")
    boolean addSpecialTokens;
    @Option(names = "--decode", description = "decode id arrays instead of encoding strings") boolean decode;
    @Option(names = "--skip-special-tokens", description = "with --decode: leave special tokens out")
    boolean skipSpecialTokens;

    @Override
    public Integer call() {
        if (decode && addSpecialTokens) {
            throw new Cm3LeonException("--add-special-tokens applies to encoding, not to --decode");
        }
        if (!decode && skipSpecialTokens) {
            throw new Cm3LeonException("--skip-special-tokens applies to --decode only");
        }
        TextTokenizer textTokenizer = TextTokenizer.load(tokenizer);
        PrintWriter out = spec.commandLine().getOut();
        var utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(Files.newInputStream(input),
                utf8))) {
            int lineNumber = 0;
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                lineNumber++;
                if (line.isBlank()) {
                    continue;
                }
                JsonNode value = parse(line, lineNumber);
                out.println(decode ? decodeLine(textTokenizer, value, lineNumber) : encodeLine(textTokenizer, value,
                        lineNumber));
            }
        } catch (CharacterCodingException e) {
            throw new Cm3LeonException(input + ": not valid UTF-8");
        } catch (IOException e) {
            throw new Cm3LeonException("cannot read " + input + ": " + e.getMessage(), e);
        } finally {
            out.flush();
        }
        return 0;
    }

    private JsonNode parse(String line, int lineNumber) {
        try {
            return JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new Cm3LeonException(where(lineNumber) + "not JSON: " + e.getOriginalMessage());
        }
    }

    private String encodeLine(TextTokenizer textTokenizer, JsonNode value, int lineNumber) {
        if (!value.isTextual()) {
            throw new Cm3LeonException(where(lineNumber) + "expected a JSON string, got " + kind(value));
        }
        int[] ids = textTokenizer.encode(value.textValue(), addSpecialTokens);
        StringBuilder json = new StringBuilder(ids.length * 6 + 2).append('[');
        for (int i = 0; i < ids.length; i++) {
            json.append(i == 0 ? "" : ",").append(ids[i]);
        }
        return json.append(']').toString();
    }

    private String decodeLine(TextTokenizer textTokenizer, JsonNode value, int lineNumber) {
        if (!value.isArray()) {
            throw new Cm3LeonException(where(lineNumber) + "expected a JSON array of token ids, got " + kind(value));
        }
        int[] ids = new int[value.size()];
        for (int i = 0; i < ids.length; i++) {
            JsonNode id = value.get(i);
            if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
                throw new Cm3LeonException(where(lineNumber) + "element " + i + " is not a token id: " + id);
            }
            ids[i] = id.intValue();
        }
        try {
            return JSON.writeValueAsString(textTokenizer.decode(ids, skipSpecialTokens));
        } catch (JsonProcessingException e) {
            throw new Cm3LeonException(where(lineNumber) + "cannot write the decoded text: " + e.getMessage(), e);
        }
    }

    private String where(int lineNumber) {
        return input.getFileName() + ":" + lineNumber + ": ";
    }

    private static String kind(JsonNode value) {
        return value.getNodeType().name().toLowerCase(Locale.ROOT);
    }
}
