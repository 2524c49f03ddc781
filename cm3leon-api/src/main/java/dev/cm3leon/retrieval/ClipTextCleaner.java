package dev.cm3leon.retrieval;

import java.text.Normalizer;
import java.util.Locale;

/**
 * The text cleanup HF's {@code CLIPTokenizer} applies when {@code ftfy} is not installed: its {@code BasicTokenizer}
 * with lower-casing, no accent stripping and no punctuation splitting. This is the path the reference fixtures pin.
 * OpenAI's cleanup ({@code ftfy.fix_text}, HTML unescaping) agrees with it on plain text; it differs on control
 * characters (dropped here), CJK ideographs (spaced here) and HTML entities (kept here).
 *
 * <p>Character categories come from the JDK's Unicode tables; characters assigned after Python 3.11's Unicode 14
 * may be classified differently from the reference.
 */
final class ClipTextCleaner {
    private ClipTextCleaner() {
    }

    static String clean(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        text.codePoints().forEach(cp -> {
            if (cp == 0 || cp == 0xFFFD || isControl(cp)) return;
            if (isWhitespace(cp)) {
                sb.append(' ');
            } else if (isCjkIdeograph(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        });
        String nfc = Normalizer.normalize(sb, Normalizer.Form.NFC);
        // Lower-case word by word, as the reference does: Final_Sigma then looks only inside the word.
        StringBuilder out = new StringBuilder(nfc.length());
        int i = 0, n = nfc.length();
        while (i < n) {
            while (i < n && isPythonSpace(nfc.codePointAt(i))) i += Character.charCount(nfc.codePointAt(i));
            int start = i;
            while (i < n && !isPythonSpace(nfc.codePointAt(i))) i += Character.charCount(nfc.codePointAt(i));
            if (i > start) {
                if (!out.isEmpty()) out.append(' ');
                out.append(nfc.substring(start, i).toLowerCase(Locale.ROOT));
            }
        }
        return out.toString();
    }

    /** Unicode category C* except tab, newline and carriage return. */
    private static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int t = Character.getType(cp);
        return t == Character.CONTROL || t == Character.FORMAT || t == Character.UNASSIGNED
                || t == Character.PRIVATE_USE || t == Character.SURROGATE;
    }

    /** Space, tab, newline, carriage return, or category Zs. */
    private static boolean isWhitespace(int cp) {
        return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || Character.getType(cp) == Character.SPACE_SEPARATOR;
    }

    /** Python's {@code str.isspace}, which {@code str.split()} splits on. */
    private static boolean isPythonSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /** The CJK Unified Ideograph blocks BERT's tokenizer puts spaces around (not Hangul, kana or Thai). */
    private static boolean isCjkIdeograph(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
