package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The hand-written matchers find exactly what java.util.regex finds for the same patterns. */
class WordSplitRegexTest {
    /** Characters chosen to hit every alternative and its backtracking: cases, folds, breaks, surrogates. */
    private static final String[] ALPHABET = {"a", "Z", "s", "S", "ſ", "t", "T", "r", "e", "E", "v", "m", "l", "L",
            "d", "é", "漢", "'", "'", " ", " ", "  ", "\t", "\n", "\r", "\r\n", "\u00A0", "\u3000", "\u2028", "\u000B",
            "1", "7", "١", "Ⅻ", "½", ".", ",", "!", "-", "\"", "😀", "👍🏽", "\u0301", "\u200D", "\uFFFD", "_", "$"};

    @ParameterizedTest
    @EnumSource(WordSplitRegex.Kind.class)
    void findsTheSameMatchesAsTheRegex(WordSplitRegex.Kind kind) {
        TextPattern scanner = new WordSplitRegex(kind);
        TextPattern regex = TextPattern.Regex.ofOniguruma(kind.regex);
        Random random = new Random(11);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder text = new StringBuilder();
            int length = random.nextInt(12);
            for (int i = 0; i < length; i++) {
                text.append(ALPHABET[random.nextInt(ALPHABET.length)]);
            }
            String s = text.toString();
            assertThat(matches(scanner, s)).as("%s on \"%s\"", kind, s.translateEscapes()).isEqualTo(matches(regex, s));
        }
    }

    @ParameterizedTest
    @EnumSource(WordSplitRegex.Kind.class)
    void isChosenForItsExactPatternOnly(WordSplitRegex.Kind kind) {
        assertThat(TextPattern.ofRegex(kind.regex)).isEqualTo(new WordSplitRegex(kind));
        assertThat(TextPattern.ofRegex(kind.regex + "|x")).isInstanceOf(TextPattern.Regex.class);
    }

    private static List<String> matches(TextPattern pattern, String text) {
        List<String> out = new ArrayList<>();
        pattern.forEachMatch(text, (start, end) -> out.add(start + ":" + end));
        return out;
    }
}
