package dev.cm3leon.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.cm3leon.testing.Fixtures;
import dev.cm3leon.tokenizer.TextTokenizer;
import dev.cm3leon.tokenizer.TokenizerException;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tokenizer.json either loads into a tokenizer that encodes and decodes, or is refused with a
 * {@link TokenizerException}; and any text encodes with the fixture tokenizers to ids in the vocabulary, byte-level
 * BPE giving the text back exactly.
 */
class TokenizerFuzzTest {
    private static final String SAMPLE = "Hello, world! 123 ünïcödé 漢字 🙂 <s>  \t\n";
    private static final Map<String, TextTokenizer> FIXTURES = new ConcurrentHashMap<>();

    @FuzzTest(maxDuration = "5m")
    @DictionaryEntries({"\"type\"", "\"BPE\"", "\"vocab\"", "\"merges\"", "\"added_tokens\"", "\"normalizer\"",
            "\"pre_tokenizer\"", "\"post_processor\"", "\"decoder\"", "\"Sequence\"", "\"Split\"", "\"ByteLevel\"",
            "\"Metaspace\"", "\"Replace\"", "\"Regex\"", "\"String\"", "\"TemplateProcessing\"", "\"SpecialToken\"",
            "\"content\"", "\"id\"", "\"special\"", "\"byte_fallback\"", "\"unk_token\"", "\"NFC\"", "\"Strip\"",
            "\"Fuse\"", "\"ByteFallback\"", "\"Digits\"", "\"Prepend\"", "\"Lowercase\"", "\"behavior\"", "\"Isolated\""})
    void loadsOrRefusesWithATokenizerException(byte[] json) {
        TextTokenizer tokenizer;
        try {
            tokenizer = TextTokenizer.fromJson(json, "fuzz.json");
        } catch (TokenizerException refused) {
            assertThat(refused).hasMessageStartingWith("fuzz.json: ");
            return;
        }
        int[] ids = tokenizer.encode(SAMPLE, true);
        for (int id : ids) assertThat(id).isBetween(0, tokenizer.maxTokenId());
        assertThat(tokenizer.decode(ids, false)).isNotNull();
        assertThat(tokenizer.decode(new int[]{-1, 0, Integer.MAX_VALUE}, true)).isNotNull();
    }

    /** The first byte picks how the rest becomes text: UTF-8 (invalid bytes replaced) or UTF-16, lone surrogates and all. */
    @FuzzTest(maxDuration = "5m")
    void encodesAnyText(byte[] input) {
        if (input.length == 0) return;
        byte[] rest = java.util.Arrays.copyOfRange(input, 1, input.length);
        String text = new String(rest, (input[0] & 1) == 0 ? StandardCharsets.UTF_8 : StandardCharsets.UTF_16LE);
        for (String name : new String[]{"gpt2", "spm_like", "chameleon_like"}) {
            TextTokenizer tokenizer = fixture(name);
            int[] ids = tokenizer.encode(text, true);
            for (int id : ids) assertThat(id).as(name).isBetween(0, tokenizer.maxTokenId());
            String decoded = tokenizer.decode(ids, true);
            if (name.equals("gpt2") && isWellFormed(text)) assertThat(decoded).as(name).isEqualTo(text);
        }
    }

    private static TextTokenizer fixture(String name) {
        return FIXTURES.computeIfAbsent(name, n -> TextTokenizer.load(Fixtures.path("tokenizers/" + n + ".tokenizer.json")));
    }

    /** Without unpaired surrogates, which UTF-8 cannot carry. */
    private static boolean isWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return false;
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
