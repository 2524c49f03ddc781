package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The decoders on the examples HF documents for them, and on cut characters. */
class DecoderTest {

    @Test
    void byteFallbackDecodesRunsOfByteTokensAndMarksEachInvalidByte() {
        var decoder = new Decoder.ByteFallback();
        assertThat(decoder.decodeChain(List.of("Hey", "friend!"))).containsExactly("Hey", "friend!");
        assertThat(decoder.decodeChain(List.of("<0x61>"))).containsExactly("a");
        assertThat(decoder.decodeChain(List.of("<0xE5>"))).containsExactly("\uFFFD");
        assertThat(decoder.decodeChain(List.of("<0xE5>", "<0x8f>"))).containsExactly("\uFFFD", "\uFFFD");
        assertThat(decoder.decodeChain(List.of("<0xE5>", "<0x8f>", "<0xab>"))).containsExactly("叫");
        assertThat(decoder.decodeChain(List.of("<0xE5>", "<0x8f>", "<0xab>", "a"))).containsExactly("叫", "a");
        assertThat(decoder.decodeChain(List.of("<0xE5>", "<0x8f>", "a"))).containsExactly("\uFFFD", "\uFFFD", "a");
        assertThat(decoder.decodeChain(List.of("<0xZZ>", "<0x1>"))).containsExactly("<0xZZ>", "<0x1>");
    }

    @Test
    void byteLevelReplacesEachMaximalInvalidSequenceOnce() {
        var decoder = new Decoder.ByteLevel();
        assertThat(decoder.decode(List.of("Hello", "Ġwor", "ld", "Ċ"))).isEqualTo("Hello world\n");
        assertThat(decoder.decode(List.of("ä½", "ł"))).isEqualTo("你");
        assertThat(decoder.decode(List.of("ä½"))).as("a character cut after two of its three bytes")
                .isEqualTo("\uFFFD");
        assertThat(decoder.decode(List.of("ä", "a", "ł"))).isEqualTo("\uFFFDa\uFFFD");
        assertThat(decoder.decode(List.of("<|endoftext|>", "Ġ✓", "Ġ")))
                .as("a token with a character outside the alphabet keeps its own text, Ġ included")
                .isEqualTo("<|endoftext|>Ġ✓ ");
    }

    @Test
    void metaspaceDropsThePrependedSpaceOfTheFirstTokenOnly() {
        assertThat(new Decoder.Metaspace('▁', true).decodeChain(List.of("▁Hey", "▁friend!")))
                .containsExactly("Hey", " friend!");
        assertThat(new Decoder.Metaspace('▁', false).decodeChain(List.of("▁Hey", "▁friend!")))
                .containsExactly(" Hey", " friend!");
    }

    @Test
    void stripFuseReplaceAndSequence() {
        assertThat(new Decoder.Strip(' ', 1, 0).decodeChain(List.of("  Hey", " friend ")))
                .containsExactly(" Hey", "friend ");
        assertThat(new Decoder.Strip('x', 0, 2).decodeChain(List.of("axxx", "x", "")))
                .containsExactly("ax", "", "");
        assertThat(new Decoder.Fuse().decodeChain(List.of("a", "b", "c"))).containsExactly("abc");
        var sentencePiece = new Decoder.Sequence(List.of(new Decoder.Replace(new TextPattern.Literal("▁"), " "),
                new Decoder.ByteFallback(), new Decoder.Fuse(), new Decoder.Strip(' ', 1, 0)));
        assertThat(sentencePiece.decode(List.of("▁Hey", "▁", "<0xE5>", "<0x8F>", "<0xAB>", "!")))
                .isEqualTo("Hey 叫!");
        assertThat(new Decoder.BpeSuffix("</w>").decode(List.of("My</w>", "na", "me</w>"))).isEqualTo("My name");
    }
}
