package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.text.Normalizer.Form;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Normalizers, with Rust's character semantics where they differ from Java's. */
class NormalizerTest {

    @Test
    void lowercasesOneCharacterAtATime() {
        var lowercase = new Normalizer.Lowercase();
        assertThat(lowercase.normalize("HeLLo ÀÉ")).isEqualTo("hello àé");
        assertThat(lowercase.normalize("İ")).as("dotted capital I keeps its dot as U+0307").isEqualTo("i\u0307");
        assertThat(lowercase.normalize("ΟΔΟΣ")).as("no final-sigma context, as in Rust").isEqualTo("οδοσ");
    }

    @Test
    void unicodeFormsStripAndReplace() {
        assertThat(new Normalizer.Unicode(Form.NFKC).normalize("ﬁ①")).isEqualTo("fi1");
        assertThat(new Normalizer.Unicode(Form.NFC).normalize("e\u0301")).isEqualTo("é");
        assertThat(new Normalizer.Unicode(Form.NFD).normalize("é")).isEqualTo("e\u0301");
        assertThat(new Normalizer.Strip(true, true).normalize("\u00A0\t hi \u3000")).isEqualTo("hi");
        assertThat(new Normalizer.Strip(false, true).normalize("  hi  ")).isEqualTo("  hi");
        assertThat(new Normalizer.StripAccents().normalize("e\u0301a\u0300")).isEqualTo("ea");
        assertThat(new Normalizer.Replace(TextPattern.Regex.ofOniguruma("\\s+"), " ").normalize("a \t\n b"))
                .isEqualTo("a b");
        assertThat(new Normalizer.Replace(new TextPattern.Literal(" "), "▁").normalize(" a b ")).isEqualTo("▁a▁b▁");
    }

    @Test
    void prependLeavesEmptyTextEmpty() {
        var sequence = new Normalizer.Sequence(List.of(new Normalizer.Prepend("▁"),
                new Normalizer.Replace(new TextPattern.Literal(" "), "▁")));
        assertThat(sequence.normalize("Hey you")).isEqualTo("▁Hey▁you");
        assertThat(sequence.normalize("")).isEmpty();
    }
}
