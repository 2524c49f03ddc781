package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;

/** Oniguruma patterns keep their meaning under java.util.regex. */
class OnigurumaRegexTest {

    private static List<String> matches(String onigPattern, String text) {
        Matcher m = OnigurumaRegex.compile(onigPattern).matcher(text);
        return m.results().map(r -> r.group()).toList();
    }

    @Test
    void classesAreUnicodeAware() {
        assertThat(matches("\\s+", "a\u00A0\u3000b\u2028c")).containsExactly("\u00A0\u3000", "\u2028");
        assertThat(matches("\\d+", "x١٢3")).containsExactly("١٢3");
        assertThat(matches("(?i:'s|'t)", "IT'S it'T")).containsExactly("'S", "'T");
        assertThat(matches("\\p{L}+", "héllo 𝒳y")).containsExactly("héllo", "𝒳y");
    }

    @Test
    void skipsAnEmptyMatchRightAfterTheLastMatchAsOnigurumaDoes() {
        List<String> found = new java.util.ArrayList<>();
        TextPattern.Regex.ofOniguruma("a*").forEachMatch("baaac", (start, end) -> found.add(start + ":" + end));
        assertThat(found).containsExactly("0:0", "1:4", "5:5");
    }

    @Test
    void rewritesEscapesWhoseMeaningDiffers() {
        assertThat(matches("\\h+", "zz0aF9 g")).as("\\h is a hex digit in Oniguruma").containsExactly("0aF9");
        assertThat(matches("[\\h_]+", "x_a1")).containsExactly("_a1");
        assertThat(matches("\\p{^L}+", "ab12cd")).containsExactly("12");
        assertThat(matches("\\p{Han}+", "漢字kana")).containsExactly("漢字");
    }
}
