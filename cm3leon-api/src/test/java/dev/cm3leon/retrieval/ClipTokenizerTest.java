package dev.cm3leon.retrieval;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.SoftAssertions.assertSoftly;

/** HF's slow CLIPTokenizer (ftfy-less path) on the clip fixture's cases: cleanup, BPE tokens, ids and decodes exact. */
class ClipTokenizerTest {
    static JsonNode golden;
    static ClipTokenizer tokenizer;

    @BeforeAll
    static void load() {
        golden = Fixtures.json("clip/golden.json").get("tokenizer");
        tokenizer = ClipTokenizer.load(Fixtures.path("clip/model"));
    }

    @Test
    void specialTokensAreTheFixturesIds() {
        assertThat(tokenizer.bosId()).isEqualTo(golden.get("bos(<|startoftext|>)").asInt());
        assertThat(tokenizer.eosId()).isEqualTo(golden.get("eos=pad=unk(<|endoftext|>)").asInt());
        assertThat(tokenizer.padId()).isEqualTo(tokenizer.eosId());
    }

    @Test
    void everyCaseTokenizesAndDecodesAsTheReference() {
        int max = golden.get("model_max_length").asInt();
        assertSoftly(soft -> {
            for (JsonNode c : golden.get("cases")) {
                String text = c.get("text").asText();
                soft.assertThat(ClipTextCleaner.clean(text)).as("cleanup of %s", text).isEqualTo(c.get("basic_tokenizer_text").asText());
                soft.assertThat(tokenizer.tokenize(text)).as("tokens of %s", text).isEqualTo(strings(c.get("tokens")));
                soft.assertThat(tokenizer.encode(text)).as("ids of %s", text).containsExactly(Fixtures.ints(c.get("ids_no_special")));
                int[] full = Fixtures.ints(c.get("input_ids"));
                soft.assertThat(tokenizer.encodeForModel(text, Integer.MAX_VALUE)).as("input ids of %s", text).containsExactly(full);
                soft.assertThat(tokenizer.encodeForModel(text, max)).as("truncated ids of %s", text)
                        .containsExactly(Fixtures.ints(c.get("input_ids_truncated_max_length_" + max)));
                soft.assertThat(tokenizer.decode(full, true)).as("decode of %s", text).isEqualTo(c.get("decode_skip_special").asText());
                soft.assertThat(tokenizer.decode(full, false)).as("decode of %s", text).isEqualTo(c.get("decode_keep_special").asText());
            }
        });
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
