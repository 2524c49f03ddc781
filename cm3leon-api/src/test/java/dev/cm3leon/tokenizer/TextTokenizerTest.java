package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cm3leon.testing.Fixtures;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** The public API, and added-token options the fixture tokenizers do not use. */
class TextTokenizerTest {
    /** Single characters only, so that tokens show exactly what the model received. */
    private static final String LETTERS = """
            {"version": "1.0",
             "added_tokens": [%s],
             "normalizer": %s, "pre_tokenizer": null, "post_processor": %s, "decoder": null,
             "model": {"type": "BPE", "vocab": {"<s>": 0, "</s>": 1, " ": 2, "a": 3, "b": 4, "c": 5, "h": 6, "e": 7,
                                                "l": 8, "o": 9, "ab": 10},
                       "merges": ["a b"]}}
            """;

    private static TextTokenizer letters(String addedTokens, String normalizer, String postProcessor) {
        String json = LETTERS.formatted(addedTokens, normalizer, postProcessor);
        return TextTokenizer.fromJson(json.getBytes(StandardCharsets.UTF_8), "letters.json");
    }

    private static String added(int id, String content, String options) {
        return "{\"id\": " + id + ", \"content\": \"" + content + "\", " + options + "}";
    }

    @Test
    void singleWordTokensMatchOnlyOutsideWords() {
        var tokenizer = letters(added(20, "ba", "\"single_word\": true, \"normalized\": false, \"special\": false"),
                "null", "null");
        assertThat(tokenizer.encode("ba cba bac ba", false)).containsExactly(20, 2, 5, 4, 3, 2, 4, 3, 5, 2, 20);
    }

    @Test
    void anAddedTokenInTheVocabularyKeepsItsVocabularyId() {
        var tokenizer = letters(added(20, "ab", "\"normalized\": false, \"special\": false"), "null", "null");
        assertThat(tokenizer.encode("cab", false)).containsExactly(5, 10);
        assertThat(tokenizer.addedTokens()).extracting(AddedToken::id).containsExactly(10);
    }

    @Test
    void lstripAndRstripTokensAbsorbTheWhitespaceAround() {
        var tokenizer = letters(added(30, "<mask>", "\"lstrip\": true, \"rstrip\": true, \"special\": true, "
                + "\"normalized\": false"), "null", "null");
        var encoding = tokenizer.encodeWithTokens("a  <mask>  b", false);
        assertThat(encoding.tokens()).containsExactly("a", "  <mask>  ", "b");
        assertThat(encoding.ids()).containsExactly(3, 30, 4);
    }

    @Test
    void normalizedTokensMatchTheNormalizedText() {
        var tokenizer = letters(added(40, "HeLLo", "\"normalized\": true, \"special\": false"),
                "{\"type\": \"Lowercase\"}", "null");
        assertThat(tokenizer.encode("HELLO abc", false)).containsExactly(40, 2, 10, 5);
        assertThat(tokenizer.tokenId("HeLLo")).hasValue(40);
    }

    @Test
    void robertaAndTemplateProcessorsAddTheirTokensOnlyWhenAsked() {
        var roberta = letters("", "null", "{\"type\": \"RobertaProcessing\", \"sep\": [\"</s>\", 1], "
                + "\"cls\": [\"<s>\", 0], \"trim_offsets\": true, \"add_prefix_space\": false}");
        assertThat(roberta.encode("ab", true)).containsExactly(0, 10, 1);
        assertThat(roberta.encode("ab", false)).containsExactly(10);
        var template = letters("", "null", "{\"type\": \"TemplateProcessing\", \"single\": \"<s> $A </s>\", "
                + "\"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [0], \"tokens\": [\"<s>\"]}, "
                + "\"</s>\": {\"id\": \"</s>\", \"ids\": [1], \"tokens\": [\"</s>\"]}}}");
        var encoding = template.encodeWithTokens("ba", true);
        assertThat(encoding.ids()).containsExactly(0, 4, 3, 1);
        assertThat(encoding.specialTokensMask()).containsExactly(1, 0, 0, 1);
    }

    @Test
    void skippingSpecialTokensKeepsTheOtherAddedTokens() {
        var tokenizer = letters(added(0, "<s>", "\"special\": true, \"normalized\": false") + ", "
                + added(50, "<|x|>", "\"special\": false, \"normalized\": false"), "null", "null");
        int[] ids = tokenizer.encode("<s>a<|x|>b", false);
        assertThat(ids).containsExactly(0, 3, 50, 4);
        assertThat(tokenizer.decode(ids, true)).isEqualTo("a <|x|> b");
        assertThat(tokenizer.decode(ids, false)).isEqualTo("<s> a <|x|> b");
        assertThat(tokenizer.isSpecial(0)).isTrue();
        assertThat(tokenizer.isSpecial(50)).isFalse();
        assertThat(tokenizer.isSpecial(3)).isFalse();
        assertThat(tokenizer.addedTokens()).extracting(AddedToken::id).containsExactly(0, 50);
        assertThat(tokenizer.decode(new int[] {3, 999, -1, 4}, false)).as("unknown ids are ignored").isEqualTo("a b");
    }

    @Test
    void looksTokensAndIdsUp() {
        TextTokenizer gpt2 = FixtureTokenizers.get("gpt2");
        assertThat(gpt2.tokenId("Ġworld")).hasValue(995);
        assertThat(gpt2.tokenId("<|endoftext|>")).hasValue(50256);
        assertThat(gpt2.tokenId("no such token")).isEqualTo(OptionalInt.empty());
        assertThat(gpt2.token(995)).isEqualTo("Ġworld");
        assertThat(gpt2.token(50256)).isEqualTo("<|endoftext|>");
        assertThat(gpt2.vocabSize()).isEqualTo(50257);
        assertThat(gpt2.maxTokenId()).isEqualTo(50256);
        assertThatThrownBy(() -> gpt2.token(50257)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("50257");
    }

    @Test
    void loadsFromStreamsAndGzipBytes() throws IOException {
        byte[] json = Files.readAllBytes(Fixtures.path("tokenizers/chameleon_like.tokenizer.json"));
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(json);
        }
        TextTokenizer fromStream = TextTokenizer.load(new ByteArrayInputStream(json), "chameleon_like");
        TextTokenizer fromGzip = TextTokenizer.fromJson(gz.toByteArray(), "chameleon_like.gz");
        String text = "A <image> of IMGIMGAZ<racm3:break>";
        assertThat(fromGzip.encode(text, true)).containsExactly(fromStream.encode(text, true));
        assertThat(fromStream.encode("<image>", false)).containsExactly(38);
    }

    @Test
    void encodesTheSameFromManyThreads() throws Exception {
        TextTokenizer gpt2 = FixtureTokenizers.get("gpt2");
        List<String> texts = IntStream.range(0, 200).mapToObj(i -> "Sample " + i + " with wörds, numbers "
                + i * 7919 + " and ümlauts").toList();
        List<int[]> expected = texts.stream().map(t -> gpt2.encode(t, false)).toList();
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            List<Future<Boolean>> results = IntStream.range(0, 8).mapToObj(worker -> pool.submit(() -> {
                for (int i = texts.size() - 1; i >= 0; i--) {
                    if (!java.util.Arrays.equals(gpt2.encode(texts.get(i), false), expected.get(i))) {
                        return false;
                    }
                }
                return true;
            })).toList();
            for (Future<Boolean> result : results) {
                assertThat(result.get()).isTrue();
            }
        }
    }
}
