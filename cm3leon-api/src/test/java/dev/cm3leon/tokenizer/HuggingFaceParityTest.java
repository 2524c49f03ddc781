package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.testing.Fixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every tokenizer of {@code fixtures/tokenizers} against the golden outputs of HF {@code tokenizers} 0.22.2 on the
 * 300-string corpus: ids with and without special tokens, token strings, and the four decodes, all exact.
 */
class HuggingFaceParityTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gpt2", "mistral", "qwen3", "chameleon_like", "spm_like"})
    void encodesAndDecodesExactlyAsHuggingFace(String name) {
        JsonNode entry = Fixtures.json("tokenizers/manifest.json").get("tokenizers").get(name);
        TextTokenizer tokenizer = FixtureTokenizers.get(name);
        JsonNode golden = Fixtures.json("tokenizers/" + entry.get("golden").asText());
        JsonNode cases = golden.get("cases");
        assertThat(cases.size()).isEqualTo(300);

        List<String> mismatches = new ArrayList<>();
        List<Integer> failedCases = new ArrayList<>();
        for (JsonNode c : cases) {
            int before = mismatches.size();
            check(tokenizer, c, mismatches);
            if (mismatches.size() > before) {
                failedCases.add(c.get("i").asInt());
            }
        }
        assertThat(failedCases)
                .as("%s: %d of %d cases differ from HF: %s%n%s", name, failedCases.size(), cases.size(), failedCases,
                        String.join("\n", mismatches.subList(0, Math.min(40, mismatches.size()))))
                .isEmpty();
        assertThat(tokenizer.vocabSize()).isEqualTo(golden.get("vocab_size_with_added").asInt());
    }

    private static void check(TextTokenizer tokenizer, JsonNode c, List<String> mismatches) {
        String text = c.get("text").asText();
        int i = c.get("i").asInt();
        Encoding plain = tokenizer.encodeWithTokens(text, false);
        Encoding withSpecial = tokenizer.encodeWithTokens(text, true);
        int[] ids = Fixtures.ints(c.get("ids"));
        int[] idsWithSpecial = Fixtures.ints(c.get("ids_with_special"));
        compare(mismatches, i, "ids", Arrays.toString(ids), Arrays.toString(plain.ids()));
        compare(mismatches, i, "encode ids", Arrays.toString(ids),
                Arrays.toString(tokenizer.encode(text, false)));
        compare(mismatches, i, "tokens", strings(c.get("tokens")).toString(), plain.tokens().toString());
        compare(mismatches, i, "ids_with_special", Arrays.toString(idsWithSpecial),
                Arrays.toString(withSpecial.ids()));
        compare(mismatches, i, "special_tokens_mask", Arrays.toString(Fixtures.ints(
                c.get("special_tokens_mask_with_special"))), Arrays.toString(withSpecial.specialTokensMask()));
        compare(mismatches, i, "decode", c.get("decode").asText(), tokenizer.decode(ids, false));
        compare(mismatches, i, "decode_with_special_skip", c.get("decode_with_special_skip").asText(),
                tokenizer.decode(idsWithSpecial, true));
        compare(mismatches, i, "decode_with_special_keep", c.get("decode_with_special_keep").asText(),
                tokenizer.decode(idsWithSpecial, false));
        compare(mismatches, i, "decode_first_half", c.get("decode_first_half").asText(),
                tokenizer.decode(Arrays.copyOf(ids, ids.length / 2), false));
    }

    private static void compare(List<String> mismatches, int i, String field, String expected, String actual) {
        if (!Objects.equals(expected, actual)) {
            mismatches.add("case " + i + " " + field + ":\n  expected " + expected + "\n  actual   " + actual);
        }
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(node -> out.add(node.asText()));
        return out;
    }
}
