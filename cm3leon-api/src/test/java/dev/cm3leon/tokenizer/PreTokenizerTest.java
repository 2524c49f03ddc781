package dev.cm3leon.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cm3leon.tokenizer.PreTokenizer.Metaspace.PrependScheme;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The pre-tokenizers on the examples HF documents for them. */
class PreTokenizerTest {

    private static List<String> run(PreTokenizer preTokenizer, Piece... pieces) {
        return preTokenizer.preTokenize(List.of(pieces)).stream().map(Piece::text).toList();
    }

    private static List<String> run(PreTokenizer preTokenizer, String text) {
        return run(preTokenizer, Piece.text(text, true));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            Removed            | The,final,countdown
            Isolated           | The,-,final,-,-,countdown
            MergedWithPrevious | The-,final-,-,countdown
            MergedWithNext     | The,-final,-,-countdown
            Contiguous         | The,-,final,--,countdown
            """)
    void splitsOnALiteralWithEachBehavior(String behavior, String expected) {
        var split = new PreTokenizer.Split(new TextPattern.Literal("-"), SplitBehavior.fromJson(behavior), false);
        assertThat(run(split, "The-final--countdown")).containsExactly(expected.split(","));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            Removed            | How/are/you/doing/?
            Isolated           | How/ /are/ /you/ /doing/?
            MergedWithPrevious | How /are /you /doing/?
            MergedWithNext     | How/ are/ you/ doing/?
            Contiguous         | How/ /are/ /you/ /doing?
            """)
    void splitsBetweenTheMatchesOfAnInvertedRegex(String behavior, String expected) {
        var split = new PreTokenizer.Split(TextPattern.Regex.ofOniguruma("\\w+|[^\\w\\s]+"),
                SplitBehavior.fromJson(behavior), true);
        assertThat(run(split, "How are you doing?")).containsExactly(expected.split("/"));
    }

    @Test
    void byteLevelSplitsLikeGpt2AndSpellsBytesInItsAlphabet() {
        assertThat(run(new PreTokenizer.ByteLevel(false, true), "Hello my friend, how is your day going?"))
                .containsExactly("Hello", "Ġmy", "Ġfriend", ",", "Ġhow", "Ġis", "Ġyour", "Ġday", "Ġgoing", "?");
        assertThat(run(new PreTokenizer.ByteLevel(true, true), "Hello  there\n"))
                .containsExactly("ĠHello", "Ġ", "Ġthere", "Ċ");
        assertThat(run(new PreTokenizer.ByteLevel(false, false), "héllo wörld"))
                .containsExactly("hÃ©lloĠwÃ¶rld");
        assertThat(run(new PreTokenizer.ByteLevel(false, true), "I'm DON'T 12abc"))
                .as("GPT-2's contractions are lower case only")
                .containsExactly("I", "'m", "ĠDON", "'", "T", "Ġ12", "abc");
    }

    @Test
    void metaspaceReplacesSpacesAndSplitsBeforeThem() {
        var metaspace = new PreTokenizer.Metaspace('▁', PrependScheme.ALWAYS, true);
        assertThat(run(metaspace, "Hey friend!")).containsExactly("▁Hey", "▁friend!");
        assertThat(run(metaspace, "Hey   friend!")).containsExactly("▁Hey", "▁", "▁", "▁friend!");
        assertThat(run(new PreTokenizer.Metaspace('▁', PrependScheme.NEVER, true), "Hey friend!"))
                .containsExactly("Hey", "▁friend!");
    }

    @Test
    void metaspaceFirstPrependsOnlyToThePieceAtTheStartOfTheInput() {
        var first = new PreTokenizer.Metaspace('▁', PrependScheme.FIRST, false);
        assertThat(run(first, Piece.text("Hey my friend ", true), new Piece("<s>", 1, false),
                Piece.text("how▁are you", false)))
                .containsExactly("▁Hey▁my▁friend▁", "<s>", "how▁are▁you");
        assertThat(run(first, Piece.text(" Hey ", true), new Piece("<s>", 1, false), Piece.text("how ", false),
                new Piece("<s>", 1, false), Piece.text(" you", false)))
                .containsExactly("▁Hey▁", "<s>", "how▁", "<s>", "▁you");
        var always = new PreTokenizer.Metaspace('▁', PrependScheme.ALWAYS, true);
        assertThat(run(always, Piece.text("Hey my friend ", true), new Piece("<s>", 1, false),
                Piece.text("how▁are you", false)))
                .containsExactly("▁Hey", "▁my", "▁friend", "▁", "<s>", "▁how", "▁are", "▁you");
    }

    @Test
    void digitsAreIsolatedOrKeptInRuns() {
        assertThat(run(new PreTokenizer.Digits(true), "Hey 123 friend!"))
                .containsExactly("Hey ", "1", "2", "3", " friend!");
        assertThat(run(new PreTokenizer.Digits(false), "Hey 123 friend!"))
                .containsExactly("Hey ", "123", " friend!");
        assertThat(run(new PreTokenizer.Digits(true), "x١٢Ⅻ"))
                .as("Unicode numerics: Arabic-Indic digits and a Roman numeral")
                .containsExactly("x", "١", "٢", "Ⅻ");
    }

    @Test
    void whitespaceAndPunctuationSplitters() {
        assertThat(run(new PreTokenizer.Whitespace(), "Hey man!")).containsExactly("Hey", "man", "!");
        assertThat(run(new PreTokenizer.Whitespace(), "Are you ok?  I'm fine.\u00A0Thanks"))
                .containsExactly("Are", "you", "ok", "?", "I", "'", "m", "fine", ".", "Thanks");
        assertThat(run(new PreTokenizer.WhitespaceSplit(), "Hey man!\u3000ok")).containsExactly("Hey", "man!", "ok");
        assertThat(run(new PreTokenizer.Punctuation(SplitBehavior.ISOLATED), "Hey friend!     How are you?!?"))
                .containsExactly("Hey friend", "!", "     How are you", "?", "!", "?");
        assertThat(run(new PreTokenizer.Bert(), "Hey friend!     How are you?!?"))
                .containsExactly("Hey", "friend", "!", "How", "are", "you", "?", "!", "?");
    }

    @Test
    void addedTokensPassThroughUntouched() {
        var sequence = new PreTokenizer.Sequence(List.of(new PreTokenizer.WhitespaceSplit(),
                new PreTokenizer.ByteLevel(true, true)));
        assertThat(run(sequence, Piece.text("a b", true), new Piece(" <mask> ", 7, false), Piece.text("c", false)))
                .containsExactly("Ġa", "Ġb", " <mask> ", "Ġc");
    }
}
