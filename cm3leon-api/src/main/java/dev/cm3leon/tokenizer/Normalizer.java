package dev.cm3leon.tokenizer;

import java.util.List;
import java.util.Locale;

/**
 * Rewrites text before it is split, once per stretch of text between added tokens. Each kind mirrors the HF
 * component of the same {@code type} name.
 */
sealed interface Normalizer {

    String normalize(String text);

    /** One of the four Unicode normalization forms. */
    record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public String normalize(String text) {
            return java.text.Normalizer.isNormalized(text, form) ? text : java.text.Normalizer.normalize(text, form);
        }
    }

    /**
     * Lower case, one character at a time as HF does (so a final sigma stays σ, and İ becomes i + U+0307, which
     * {@code Character.toLowerCase(int)} would not give).
     */
    record Lowercase() implements Normalizer {
        @Override
        public String normalize(String text) {
            StringBuilder out = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); ) {
                int cp = text.codePointAt(i);
                i += Character.charCount(cp);
                if (cp < 0x80) {
                    out.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
                } else {
                    out.append(Character.toString(cp).toLowerCase(Locale.ROOT));
                }
            }
            return out.toString();
        }
    }

    /** Removes whitespace at either end. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String normalize(String text) {
            int start = 0;
            int end = text.length();
            while (left && start < end && UnicodeChars.isWhitespace(text.codePointAt(start))) {
                start += Character.charCount(text.codePointAt(start));
            }
            while (right && end > start && UnicodeChars.isWhitespace(text.codePointBefore(end))) {
                end -= Character.charCount(text.codePointBefore(end));
            }
            return text.substring(start, end);
        }
    }

    /** Removes combining marks. */
    record StripAccents() implements Normalizer {
        @Override
        public String normalize(String text) {
            StringBuilder out = new StringBuilder(text.length());
            text.codePoints().filter(cp -> !UnicodeChars.isCombiningMark(cp)).forEach(out::appendCodePoint);
            return out.toString();
        }
    }

    /** Replaces every match of a pattern with a fixed string. */
    record Replace(TextPattern pattern, String content) implements Normalizer {
        @Override
        public String normalize(String text) {
            return pattern.replaceAll(text, content);
        }
    }

    /** Puts a fixed string in front of any non-empty text. */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String normalize(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    /** Rewrites the text's UTF-8 bytes in the byte-level alphabet. */
    record ByteLevel() implements Normalizer {
        @Override
        public String normalize(String text) {
            return ByteLevelAlphabet.encode(text);
        }
    }

    /** Runs normalizers one after the other. */
    record Sequence(List<Normalizer> steps) implements Normalizer {
        public Sequence {
            steps = List.copyOf(steps);
        }

        @Override
        public String normalize(String text) {
            for (Normalizer step : steps) {
                text = step.normalize(text);
            }
            return text;
        }
    }
}
