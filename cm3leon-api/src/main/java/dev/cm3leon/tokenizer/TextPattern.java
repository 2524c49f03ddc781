package dev.cm3leon.tokenizer;

import java.util.function.IntPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a Split pre-tokenizer or a Replace normalizer or decoder looks for in a string: a regex, a literal string, or
 * a class of single characters (each matching character is a match of its own, as with HF's {@code char} patterns).
 */
sealed interface TextPattern permits TextPattern.Regex, TextPattern.Literal, TextPattern.CharClass, WordSplitRegex {

    /** A pattern from {@code tokenizer.json}, with a hand-written matcher where there is one for it. */
    static TextPattern ofRegex(String onigPattern) {
        WordSplitRegex known = WordSplitRegex.forPattern(onigPattern);
        return known != null ? known : Regex.ofOniguruma(onigPattern);
    }

    /** Receives the matches of a pattern, in order and without overlap. */
    @FunctionalInterface
    interface MatchSink {
        void match(int start, int end);
    }

    /** Reports every match in {@code text}. */
    void forEachMatch(String text, MatchSink sink);

    /**
     * Cuts {@code text} into consecutive segments that are either a match or the text between two matches, as
     * flattened triples {@code start, end, isMatch (0 or 1)}. An empty text is one empty non-match.
     */
    default IntList segments(String text) {
        IntList segments = new IntList(16);
        if (text.isEmpty()) {
            segments.add(0);
            segments.add(0);
            segments.add(0);
            return segments;
        }
        int[] previous = {0};
        forEachMatch(text, (start, end) -> {
            if (previous[0] != start) {
                addSegment(segments, previous[0], start, false);
            }
            addSegment(segments, start, end, true);
            previous[0] = end;
        });
        if (previous[0] != text.length()) {
            addSegment(segments, previous[0], text.length(), false);
        }
        return segments;
    }

    /** Replaces every match with {@code replacement}. */
    default String replaceAll(String text, String replacement) {
        StringBuilder out = new StringBuilder(text.length() + 16);
        int[] previous = {0};
        forEachMatch(text, (start, end) -> {
            out.append(text, previous[0], start).append(replacement);
            previous[0] = end;
        });
        if (previous[0] == 0) {
            return text;
        }
        return out.append(text, previous[0], text.length()).toString();
    }

    private static void addSegment(IntList segments, int start, int end, boolean isMatch) {
        segments.add(start);
        segments.add(end);
        segments.add(isMatch ? 1 : 0);
    }

    /** A regular expression, compiled from Oniguruma syntax. */
    record Regex(Pattern pattern) implements TextPattern {
        static Regex ofOniguruma(String onigPattern) {
            return new Regex(OnigurumaRegex.compile(onigPattern));
        }

        @Override
        public void forEachMatch(String text, MatchSink sink) {
            Matcher m = pattern.matcher(text);
            int previousEnd = -1;
            while (m.find()) {
                // Oniguruma's iterator, unlike Java's, skips an empty match right where the previous match ended.
                if (m.start() == m.end() && m.end() == previousEnd) {
                    continue;
                }
                sink.match(m.start(), m.end());
                previousEnd = m.end();
            }
        }
    }

    /** A literal string; an empty literal matches nothing. */
    record Literal(String literal) implements TextPattern {
        @Override
        public void forEachMatch(String text, MatchSink sink) {
            if (literal.isEmpty()) {
                return;
            }
            for (int at = text.indexOf(literal); at >= 0; at = text.indexOf(literal, at + literal.length())) {
                sink.match(at, at + literal.length());
            }
        }
    }

    /** Each code point that satisfies the predicate is a match of its own. */
    record CharClass(IntPredicate test) implements TextPattern {
        @Override
        public void forEachMatch(String text, MatchSink sink) {
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                int next = i + Character.charCount(cp);
                if (test.test(cp)) {
                    sink.match(i, next);
                }
                i = next;
            }
        }
    }
}
