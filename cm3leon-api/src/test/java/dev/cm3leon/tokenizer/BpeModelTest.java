package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.testing.Fixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The BPE model's options, and its heap-based merging against the textbook algorithm. */
class BpeModelTest {

    private static BpeModel model(Map<String, Integer> vocab, List<String> merges, BpeModel.Options options) {
        return new BpeModel(vocab, merges.stream().map(m -> m.split(" ")).toList(), options);
    }

    private static BpeModel.Options plain() {
        return new BpeModel.Options(null, false, false, false, null, null);
    }

    private static int[] tokenize(BpeModel model, String word) {
        EncodingBuilder out = new EncodingBuilder(8, false);
        model.tokenize(word, out);
        return out.ids();
    }

    @Test
    void appliesMergesByRank() {
        var model = model(Map.of("a", 0, "b", 1, "c", 2, "ab", 3, "bc", 4, "abc", 5), List.of("b c", "a bc"), plain());
        assertThat(tokenize(model, "abc")).containsExactly(5);
        assertThat(tokenize(model, "abab")).containsExactly(0, 1, 0, 1);
    }

    @Test
    void ignoreMergesTakesAWholeWordFromTheVocabulary() {
        var vocab = Map.of("a", 0, "b", 1, "c", 2, "bc", 3, "abc", 4);
        assertThat(tokenize(model(vocab, List.of("b c"), plain()), "abc")).containsExactly(0, 3);
        var ignoring = new BpeModel.Options(null, false, false, true, null, null);
        assertThat(tokenize(model(vocab, List.of("b c"), ignoring), "abc")).containsExactly(4);
    }

    @Test
    void continuingSubwordPrefixAndEndOfWordSuffix() {
        var prefixed = model(Map.of("a", 0, "##b", 1, "##c", 2, "ab", 3, "abc", 4), List.of("a ##b", "ab ##c"),
                new BpeModel.Options(null, false, false, false, "##", null));
        assertThat(tokenize(prefixed, "abc")).containsExactly(4);
        assertThat(tokenize(prefixed, "ac")).containsExactly(0, 2);
        var suffixed = model(Map.of("a", 0, "b", 1, "b</w>", 2, "ab</w>", 3), List.of("a b</w>"),
                new BpeModel.Options(null, false, false, false, null, "</w>"));
        assertThat(tokenize(suffixed, "ab")).containsExactly(3);
        assertThat(tokenize(suffixed, "bab")).containsExactly(1, 3);
    }

    @Test
    void unknownCharactersBecomeTheUnknownTokenFusedOrNot() {
        var vocab = Map.of("<unk>", 0, "a", 1);
        assertThat(tokenize(model(vocab, List.of(), new BpeModel.Options("<unk>", false, false, false, null, null)),
                "axx😀a")).containsExactly(1, 0, 0, 0, 1);
        assertThat(tokenize(model(vocab, List.of(), new BpeModel.Options("<unk>", true, false, false, null, null)),
                "axx😀a")).containsExactly(1, 0, 1);
        assertThat(tokenize(model(vocab, List.of(), plain()), "axa")).as("no unk token: dropped").containsExactly(1, 1);
    }

    @Test
    void byteFallbackSpellsUnknownCharactersInByteTokens() {
        Map<String, Integer> vocab = new HashMap<>(Map.of("<unk>", 0, "a", 1, "<0xC3>", 2, "<0xA9>", 3));
        var options = new BpeModel.Options("<unk>", true, true, false, null, null);
        assertThat(tokenize(model(vocab, List.of(), options), "aéa")).containsExactly(1, 2, 3, 1);
        assertThat(tokenize(model(vocab, List.of(), options), "aüa"))
                .as("a byte token is missing: the unknown token instead").containsExactly(1, 0, 1);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"chameleon_like", "gpt2"})
    void heapMergingAgreesWithTheTextbookAlgorithm(String name) {
        JsonNode model = Fixtures.json("tokenizers/" + name + ".tokenizer.json").get("model");
        Map<String, Integer> vocab = new HashMap<>();
        model.get("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        List<String[]> merges = new ArrayList<>();
        model.get("merges").forEach(m -> merges.add(m.asText().split(" ")));
        BpeModel bpe = new BpeModel(vocab, merges, plain());
        Map<String, Integer> ranks = new HashMap<>();
        for (int i = 0; i < merges.size(); i++) {
            ranks.putIfAbsent(merges.get(i)[0] + " " + merges.get(i)[1], i);
        }
        String alphabet = "ĠabcdefghijklmnopqrstuvwxyzTHEeeetth,.'";
        Random random = new Random(42);
        for (int n = 0; n < 2000; n++) {
            StringBuilder word = new StringBuilder();
            int length = 1 + random.nextInt(40);
            for (int i = 0; i < length; i++) {
                word.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            int[] expected = textbook(word.toString(), vocab, ranks);
            assertThat(tokenize(bpe, word.toString())).as(word.toString()).containsExactly(expected);
        }
    }

    /** Repeatedly merges the leftmost pair of lowest rank: quadratic, and obviously right. */
    private static int[] textbook(String word, Map<String, Integer> vocab, Map<String, Integer> ranks) {
        List<String> symbols = new ArrayList<>(Arrays.asList(word.split("")));
        while (true) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < symbols.size(); i++) {
                Integer rank = ranks.get(symbols.get(i) + " " + symbols.get(i + 1));
                if (rank != null && rank < bestRank) {
                    best = i;
                    bestRank = rank;
                }
            }
            if (best < 0) {
                return symbols.stream().mapToInt(vocab::get).toArray();
            }
            symbols.set(best, symbols.get(best) + symbols.remove(best + 1));
        }
    }
}
