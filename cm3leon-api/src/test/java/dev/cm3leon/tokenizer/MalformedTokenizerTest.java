package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.testing.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Files that cannot be used fail at load with a {@link TokenizerException} naming the file and the field. */
class MalformedTokenizerTest {
    /** A small valid tokenizer; each test breaks one part of it. */
    private static final String VALID = """
            {"version": "1.0", "truncation": null, "padding": null,
             "added_tokens": [{"id": 0, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false,
                               "normalized": false, "special": true}],
             "normalizer": %s,
             "pre_tokenizer": %s,
             "post_processor": %s,
             "decoder": %s,
             "model": {"type": "BPE", "dropout": null, "unk_token": null, "fuse_unk": false, "byte_fallback": false,
                       "vocab": {"<s>": 0, "a": 1, "b": 2, "ab": 3},
                       "merges": %s}}
            """;

    private static String tokenizer(String normalizer, String preTokenizer, String postProcessor, String decoder,
                                    String merges) {
        return VALID.formatted(normalizer, preTokenizer, postProcessor, decoder, merges);
    }

    private static TextTokenizer load(String json) {
        return TextTokenizer.fromJson(json.getBytes(StandardCharsets.UTF_8), "tokenizer.json");
    }

    @Test
    void theValidBaseLoads() {
        TextTokenizer tokenizer = load(tokenizer("null", "null", "null", "null", "[\"a b\"]"));
        assertThat(tokenizer.encode("ab<s>ba", false)).containsExactly(3, 0, 2, 1);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            normalizer     | {"type": "Foo"}                                   | tokenizer.json: normalizer type 'Foo' is not supported
            pre_tokenizer  | {"type": "Foo"}                                   | tokenizer.json: pre_tokenizer type 'Foo' is not supported
            post_processor | {"type": "Foo"}                                   | tokenizer.json: post_processor type 'Foo' is not supported
            decoder        | {"type": "Foo"}                                   | tokenizer.json: decoder type 'Foo' is not supported
            nested         | {"type": "Sequence", "pretokenizers": [{"type": "Digits"}, {"type": "Foo"}]} | tokenizer.json: pre_tokenizer.pretokenizers[1] type 'Foo' is not supported
            """)
    void rejectsAnUnknownComponentType(String where, String component, String message) {
        String json = switch (where) {
            case "normalizer" -> tokenizer(component, "null", "null", "null", "[]");
            case "post_processor" -> tokenizer("null", "null", component, "null", "[]");
            case "decoder" -> tokenizer("null", "null", "null", component, "[]");
            default -> tokenizer("null", component, "null", "null", "[]");
        };
        assertThatThrownBy(() -> load(json))
                .isInstanceOf(TokenizerException.class)
                .isInstanceOf(Cm3LeonException.class)
                .hasMessage(message);
    }

    @Test
    void rejectsAModelThatIsNotBpe() {
        String json = tokenizer("null", "null", "null", "null", "[]").replace("\"type\": \"BPE\"", "\"type\": \"Unigram\"");
        assertThatThrownBy(() -> load(json)).isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: model type 'Unigram' is not supported (only BPE is)");
    }

    @Test
    void rejectsMergesThatReferenceTokensAbsentFromTheVocabulary() {
        assertThatThrownBy(() -> load(tokenizer("null", "null", "null", "null", "[\"a b\", \"a c\"]")))
                .isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: model.merges[1] references 'c', which is not in model.vocab");
        assertThatThrownBy(() -> load(tokenizer("null", "null", "null", "null", "[[\"b\", \"a\"]]")))
                .isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: model.merges[0] references 'ba', which is not in model.vocab");
    }

    @Test
    void rejectsAMergeThatIsNotAPair() {
        assertThatThrownBy(() -> load(tokenizer("null", "null", "null", "null", "[\"a b c\"]")))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("tokenizer.json: model.merges[0] must be \"a b\" or [\"a\", \"b\"]");
    }

    @Test
    void rejectsAFileWithoutAModel() {
        assertThatThrownBy(() -> load("{\"version\": \"1.0\", \"added_tokens\": []}"))
                .isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: model is missing");
    }

    @Test
    void rejectsBrokenJsonNamingWhereItBroke() {
        String json = tokenizer("null", "null", "null", "null", "[\"a b\"]").replace("\"a\": 1,", "\"a\": 1,,");
        assertThatThrownBy(() -> load(json))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("tokenizer.json: malformed JSON in model.vocab")
                .hasMessageContaining("(line 9, column 39)");
    }

    @Test
    void rejectsATruncatedFileNamingTheFieldItStoppedIn(@TempDir Path dir) throws IOException {
        byte[] full = Files.readAllBytes(Fixtures.path("tokenizers/gpt2.tokenizer.json"));
        Path truncated = dir.resolve("gpt2.tokenizer.json");
        Files.write(truncated, Arrays.copyOf(full, full.length / 2));
        assertThatThrownBy(() -> TextTokenizer.load(truncated))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("gpt2.tokenizer.json: malformed JSON in model.")
                .hasMessageContaining("end-of-input");
    }

    @Test
    void rejectsATruncatedGzipFile(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(tokenizer("null", "null", "null", "null", "[\"a b\"]").getBytes(StandardCharsets.UTF_8));
        }
        Path file = dir.resolve("tokenizer.json.gz");
        Files.write(file, Arrays.copyOf(gz.toByteArray(), gz.size() - 12));
        assertThatThrownBy(() -> TextTokenizer.load(file))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("tokenizer.json.gz: corrupt or truncated gzip data");
    }

    @Test
    void rejectsARegexJavaCannotCompileNamingTheField() {
        String split = "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a\"}, \"behavior\": \"Isolated\", "
                + "\"invert\": false}";
        assertThatThrownBy(() -> load(tokenizer("null", split, "null", "null", "[]")))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("tokenizer.json: pre_tokenizer.pattern.Regex is not a regex");
    }

    @Test
    void rejectsAnUnknownSplitBehavior() {
        String split = "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Sideways\", "
                + "\"invert\": false}";
        assertThatThrownBy(() -> load(tokenizer("null", split, "null", "null", "[]")))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("tokenizer.json: pre_tokenizer.behavior: unknown split behavior 'Sideways'");
    }

    @Test
    void rejectsATemplateNamingAnUndefinedSpecialToken() {
        String template = "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<bos>\", "
                + "\"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"pair\": [], "
                + "\"special_tokens\": {}}";
        assertThatThrownBy(() -> load(tokenizer("null", "null", template, "null", "[]")))
                .isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: post_processor.single[0] names special token '<bos>', which "
                        + "special_tokens does not define");
    }

    @Test
    void rejectsAMistypedField() {
        String metaspace = "{\"type\": \"Metaspace\", \"replacement\": \"ab\"}";
        assertThatThrownBy(() -> load(tokenizer("null", metaspace, "null", "null", "[]")))
                .isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: pre_tokenizer.replacement must be a single character, not 'ab'");
        String vocab = tokenizer("null", "null", "null", "null", "[]").replace("\"a\": 1", "\"a\": -1");
        assertThatThrownBy(() -> load(vocab))
                .isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: model.vocab['a'] must be a non-negative integer, not -1");
    }

    @Test
    void rejectsAnUnknownVersionAndNonObjects() {
        assertThatThrownBy(() -> load(tokenizer("null", "null", "null", "null", "[]").replace("\"1.0\"", "\"2.0\"")))
                .isInstanceOf(TokenizerException.class)
                .hasMessage("tokenizer.json: version '2.0' is not supported (expected 1.0)");
        assertThatThrownBy(() -> load("[1, 2]"))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("the top level must be a JSON object");
        assertThatThrownBy(() -> load(""))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("tokenizer.json: ");
    }

    @Test
    void reportsAMissingFileAsATokenizerError(@TempDir Path dir) {
        assertThatThrownBy(() -> TextTokenizer.load(dir.resolve("absent.json")))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith("absent.json: cannot read");
    }
}
