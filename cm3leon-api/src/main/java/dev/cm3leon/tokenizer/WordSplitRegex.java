package dev.cm3leon.tokenizer;

/**
 * Hand-written matchers for the word-splitting regexes that nearly every byte-level BPE tokenizer uses: GPT-2's
 * (built into HF's ByteLevel pre-tokenizer) and the Llama 3 / Qwen family's. They find exactly the matches
 * {@link java.util.regex} finds for the same pattern, with the same Unicode classes, but several times faster: the
 * regex engine is the bulk of encoding time otherwise.
 *
 * <p>Each of these patterns matches at every position, so the matches tile the text; at each position the
 * alternatives are tried in the pattern's order, with the backtracking the regex would do worked out by hand.
 */
record WordSplitRegex(Kind kind) implements TextPattern {

    /** The supported patterns, by their exact source text in {@code tokenizer.json}. */
    enum Kind {
        GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+", 0),
        LLAMA3("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 3),
        QWEN2("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", 1);

        final String regex;
        /** Llama 3 / Qwen: the most digits one match takes. */
        final int maxDigits;

        Kind(String regex, int maxDigits) {
            this.regex = regex;
            this.maxDigits = maxDigits;
        }
    }

    /** The hand-written matcher for {@code onigPattern}, or {@code null} if there is none. */
    static WordSplitRegex forPattern(String onigPattern) {
        for (Kind kind : Kind.values()) {
            if (kind.regex.equals(onigPattern)) {
                return new WordSplitRegex(kind);
            }
        }
        return null;
    }

    @Override
    public void forEachMatch(String text, MatchSink sink) {
        int i = 0;
        while (i < text.length()) {
            int end = kind == Kind.GPT2 ? gpt2MatchEnd(text, i) : llama3MatchEnd(text, i, kind.maxDigits);
            sink.match(i, end);
            i = end;
        }
    }

    private static int gpt2MatchEnd(String text, int i) {
        int c = text.codePointAt(i);
        int contraction = contractionEnd(text, i, false);
        if (contraction > 0) {
            return contraction;
        }
        int afterSpace = c == ' ' && i + 1 < text.length() ? i + 1 : -1;
        int first = afterSpace > 0 ? text.codePointAt(afterSpace) : c;
        int from = afterSpace > 0 ? afterSpace : i;
        if (isLetter(first)) {                                          //  ?\p{L}+
            return runEnd(text, from, Class.LETTER);
        }
        if (UnicodeChars.isNumeric(first)) {                            //  ?\p{N}+
            return runEnd(text, from, Class.NUMBER);
        }
        if (isOther(first)) {                                           //  ?[^\s\p{L}\p{N}]+
            return runEnd(text, from, Class.OTHER);
        }
        return whitespaceEnd(text, i);                                  // \s+(?!\S)|\s+
    }

    private static int llama3MatchEnd(String text, int i, int maxDigits) {
        int c = text.codePointAt(i);
        int contraction = contractionEnd(text, i, true);
        if (contraction > 0) {
            return contraction;
        }
        int next = i + Character.charCount(c);
        if (isLetter(c)) {                                              // [^\r\n\p{L}\p{N}]?\p{L}+
            return runEnd(text, i, Class.LETTER);
        }
        boolean nextIsLetter = next < text.length() && isLetter(text.codePointAt(next));
        if (c != '\r' && c != '\n' && !UnicodeChars.isNumeric(c) && nextIsLetter) {
            return runEnd(text, next, Class.LETTER);
        }
        if (UnicodeChars.isNumeric(c)) {                                // \p{N}{1,maxDigits}
            int end = i;
            for (int n = 0; n < maxDigits && end < text.length() && UnicodeChars.isNumeric(text.codePointAt(end));
                 n++) {
                end += Character.charCount(text.codePointAt(end));
            }
            return end;
        }
        int from = c == ' ' && next < text.length() && isOther(text.codePointAt(next)) ? next : i;
        if (isOther(text.codePointAt(from))) {                          //  ?[^\s\p{L}\p{N}]+[\r\n]*
            int end = runEnd(text, from, Class.OTHER);
            while (end < text.length() && (text.charAt(end) == '\r' || text.charAt(end) == '\n')) {
                end++;
            }
            return end;
        }
        // c is whitespace here. \s*[\r\n]+ backtracks to the last line break of the run.
        int runEnd = runEnd(text, i, Class.WHITESPACE);
        for (int k = runEnd - 1; k >= i; k--) {
            if (text.charAt(k) == '\r' || text.charAt(k) == '\n') {
                return k + 1;
            }
        }
        return whitespaceEnd(text, i);                                  // \s+(?!\S)|\s+
    }

    /**
     * {@code 's|'t|'re|'ve|'m|'ll|'d} at {@code i}: the end of the match, or -1. Case-insensitive matching compares
     * as java.util.regex's Unicode case folding does (so {@code ſ}, the long s, counts as an s).
     */
    private static int contractionEnd(String text, int i, boolean ignoreCase) {
        if (text.charAt(i) != '\'' || i + 1 >= text.length()) {
            return -1;
        }
        int a = fold(text.codePointAt(i + 1), ignoreCase);
        int afterA = i + 1 + Character.charCount(text.codePointAt(i + 1));
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return afterA;
        }
        if ((a == 'r' || a == 'v' || a == 'l') && afterA < text.length()) {
            int b = fold(text.codePointAt(afterA), ignoreCase);
            if ((a == 'l' && b == 'l') || (a != 'l' && b == 'e')) {
                return afterA + Character.charCount(text.codePointAt(afterA));
            }
        }
        return -1;
    }

    private static int fold(int cp, boolean ignoreCase) {
        return ignoreCase ? Character.toLowerCase(Character.toUpperCase(cp)) : cp;
    }

    /** {@code \s+(?!\S)|\s+} at whitespace {@code i}: all of the run but its last character if text follows. */
    private static int whitespaceEnd(String text, int i) {
        int end = runEnd(text, i, Class.WHITESPACE);
        return end < text.length() && end - 1 > i ? end - 1 : end;
    }

    private enum Class { LETTER, NUMBER, OTHER, WHITESPACE }

    private static int runEnd(String text, int from, Class cls) {
        int end = from;
        while (end < text.length()) {
            int cp = text.codePointAt(end);
            boolean in = switch (cls) {
                case LETTER -> isLetter(cp);
                case NUMBER -> UnicodeChars.isNumeric(cp);
                case OTHER -> isOther(cp);
                case WHITESPACE -> UnicodeChars.isWhitespace(cp);
            };
            if (!in) {
                break;
            }
            end += Character.charCount(cp);
        }
        return end;
    }

    /** {@code \p{L}}. */
    private static boolean isLetter(int cp) {
        return cp < 0x80 ? (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z' : Character.isLetter(cp);
    }

    /** {@code [^\s\p{L}\p{N}]}. */
    private static boolean isOther(int cp) {
        return !UnicodeChars.isWhitespace(cp) && !isLetter(cp) && !UnicodeChars.isNumeric(cp);
    }
}
