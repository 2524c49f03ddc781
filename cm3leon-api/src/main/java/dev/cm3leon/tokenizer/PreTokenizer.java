package dev.cm3leon.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Splits the text between added tokens into words before the model sees them. Each kind mirrors the HF component
 * of the same {@code type} name.
 */
sealed interface PreTokenizer {

    /** Splits every piece that is not yet a token; tokens pass through unchanged. */
    List<Piece> preTokenize(List<Piece> pieces);

    /** Applies {@code split} to every text piece and keeps the order of all pieces. */
    private static List<Piece> splitEach(List<Piece> pieces, Function<Piece, List<Piece>> split) {
        List<Piece> out = new ArrayList<>(pieces.size() * 2);
        for (Piece piece : pieces) {
            if (piece.isToken()) {
                out.add(piece);
            } else {
                out.addAll(split.apply(piece));
            }
        }
        return out;
    }

    /** Splits one text piece; a sub-piece is at the origin only if its parent is and it starts the parent. */
    private static List<Piece> split(Piece piece, TextPattern pattern, SplitBehavior behavior, boolean invert) {
        String text = piece.text();
        IntList ranges = behavior.ranges(text, pattern, invert);
        List<Piece> out = new ArrayList<>(ranges.size() / 2);
        for (int i = 0; i < ranges.size(); i += 2) {
            int start = ranges.get(i);
            out.add(Piece.text(text.substring(start, ranges.get(i + 1)), piece.atOrigin() && start == 0));
        }
        return out;
    }

    /**
     * GPT-2's byte-level pre-tokenizer: optionally a leading space, optionally GPT-2's word regex, then every byte
     * rewritten in {@link ByteLevelAlphabet}.
     */
    record ByteLevel(boolean addPrefixSpace, boolean useRegex) implements PreTokenizer {
        /** The split regex of GPT-2, built into HF's ByteLevel pre-tokenizer. */
        static final TextPattern GPT2_WORDS = new WordSplitRegex(WordSplitRegex.Kind.GPT2);

        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            List<Piece> split = splitEach(pieces, piece -> {
                Piece prefixed = addPrefixSpace && !piece.text().startsWith(" ")
                        ? piece.withText(" " + piece.text()) : piece;
                return useRegex ? split(prefixed, GPT2_WORDS, SplitBehavior.ISOLATED, false) : List.of(prefixed);
            });
            split.replaceAll(piece -> piece.isToken() ? piece : piece.withText(ByteLevelAlphabet.encode(piece.text())));
            return split;
        }
    }

    /** SentencePiece's convention: spaces become {@code replacement} (▁), optionally prepended and split on. */
    record Metaspace(int replacement, PrependScheme prependScheme, boolean split) implements PreTokenizer {
        enum PrependScheme { ALWAYS, FIRST, NEVER }

        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            String rep = Character.toString(replacement);
            TextPattern delimiter = new TextPattern.Literal(rep);
            return splitEach(pieces, piece -> {
                String text = piece.text().replace(" ", rep);
                boolean prepend = switch (prependScheme) {
                    case ALWAYS -> true;
                    case FIRST -> piece.atOrigin();
                    case NEVER -> false;
                };
                if (prepend && !text.startsWith(rep)) {
                    text = rep + text;
                }
                Piece replaced = piece.withText(text);
                return split ? PreTokenizer.split(replaced, delimiter, SplitBehavior.MERGED_WITH_NEXT, false)
                        : List.of(replaced);
            });
        }
    }

    /** Splits on a regex or a literal string. */
    record Split(TextPattern pattern, SplitBehavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            return splitEach(pieces, piece -> split(piece, pattern, behavior, invert));
        }
    }

    /** Separates numeric characters from the rest, each on its own or as runs. */
    record Digits(boolean individualDigits) implements PreTokenizer {
        private static final TextPattern NUMERIC = new TextPattern.CharClass(UnicodeChars::isNumeric);

        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            SplitBehavior behavior = individualDigits ? SplitBehavior.ISOLATED : SplitBehavior.CONTIGUOUS;
            return splitEach(pieces, piece -> split(piece, NUMERIC, behavior, false));
        }
    }

    /** Words ({@code \w+}) and runs of other non-space characters; whitespace is dropped. */
    record Whitespace() implements PreTokenizer {
        private static final TextPattern WORDS = new TextPattern.Regex(
                Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS));

        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            return splitEach(pieces, piece -> split(piece, WORDS, SplitBehavior.REMOVED, true));
        }
    }

    /** Splits on whitespace, which is dropped. */
    record WhitespaceSplit() implements PreTokenizer {
        static final TextPattern WHITESPACE = new TextPattern.CharClass(UnicodeChars::isWhitespace);

        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            return splitEach(pieces, piece -> split(piece, WHITESPACE, SplitBehavior.REMOVED, false));
        }
    }

    /** Splits on punctuation characters. */
    record Punctuation(SplitBehavior behavior) implements PreTokenizer {
        static final TextPattern PUNCTUATION = new TextPattern.CharClass(UnicodeChars::isPunctuation);

        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            return splitEach(pieces, piece -> split(piece, PUNCTUATION, behavior, false));
        }
    }

    /** BERT's: whitespace dropped, then each punctuation character isolated. */
    record Bert() implements PreTokenizer {
        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            List<Piece> words = new WhitespaceSplit().preTokenize(pieces);
            return new Punctuation(SplitBehavior.ISOLATED).preTokenize(words);
        }
    }

    /** Runs pre-tokenizers one after the other. */
    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        public Sequence {
            steps = List.copyOf(steps);
        }

        @Override
        public List<Piece> preTokenize(List<Piece> pieces) {
            for (PreTokenizer step : steps) {
                pieces = step.preTokenize(pieces);
            }
            return pieces;
        }
    }
}
