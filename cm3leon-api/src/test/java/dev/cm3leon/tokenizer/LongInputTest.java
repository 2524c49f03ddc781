package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeout;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A megabyte without a space is one word for every pre-tokenizer here (and Mistral has no pre-tokenizer at all): the
 * merge loop must stay O(n log n). The time limit is a guard against quadratic behaviour, not a benchmark.
 */
class LongInputTest {
    private static final int ONE_MB = 1 << 20;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"gpt2", "mistral", "qwen3", "chameleon_like", "spm_like"})
    void encodesAMegabyteWithoutSpacesInBoundedTime(String name) {
        TextTokenizer tokenizer = FixtureTokenizers.get(name);
        String letters = randomLetters(ONE_MB);
        // Every pair of a one-letter run has the same rank: the heap's worst case for ties.
        String oneLetter = "a".repeat(ONE_MB / 4);
        assertTimeout(Duration.ofSeconds(60), () -> {
            assertThat(tokenizer.decode(tokenizer.encode(letters, false), false)).isEqualTo(letters);
            assertThat(tokenizer.decode(tokenizer.encode(oneLetter, false), false)).isEqualTo(oneLetter);
        });
    }

    private static String randomLetters(int length) {
        Random random = new Random(7);
        StringBuilder out = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            out.append((char) ('a' + random.nextInt(26)));
        }
        return out.toString();
    }
}
