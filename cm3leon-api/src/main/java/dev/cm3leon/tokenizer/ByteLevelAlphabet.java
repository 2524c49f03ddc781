package dev.cm3leon.tokenizer;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * GPT-2's reversible mapping of the 256 byte values onto printable characters: printable Latin-1 bytes map to
 * themselves, the other 68 to U+0100 onwards (space becomes {@code Ġ}, newline {@code Ċ}). Byte-level vocabularies
 * are written in this alphabet.
 */
final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];
    /** Indexed by character; -1 where a character is not in the alphabet. Every mapped character is below U+0144. */
    private static final int[] CHAR_TO_BYTE = new int[0x144];

    static {
        Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevelAlphabet() {
    }

    /** The UTF-8 bytes of {@code text}, each written as its alphabet character. Lone surrogates encode as U+FFFD. */
    static String encode(String text) {
        char[] out = new char[text.length() * 3]; // a UTF-16 unit never takes more than 3 UTF-8 bytes
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp < 0x80) {
                out[n++] = BYTE_TO_CHAR[cp];
                continue;
            }
            if (cp <= 0xFFFF && Character.isSurrogate((char) cp)) {
                cp = 0xFFFD;
            }
            if (cp < 0x800) {
                out[n++] = BYTE_TO_CHAR[0xC0 | (cp >> 6)];
            } else if (cp < 0x10000) {
                out[n++] = BYTE_TO_CHAR[0xE0 | (cp >> 12)];
                out[n++] = BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3F)];
            } else {
                out[n++] = BYTE_TO_CHAR[0xF0 | (cp >> 18)];
                out[n++] = BYTE_TO_CHAR[0x80 | ((cp >> 12) & 0x3F)];
                out[n++] = BYTE_TO_CHAR[0x80 | ((cp >> 6) & 0x3F)];
            }
            out[n++] = BYTE_TO_CHAR[0x80 | (cp & 0x3F)];
        }
        return new String(out, 0, n);
    }

    /**
     * Appends the bytes {@code token} spells in the alphabet; returns false, appending nothing, if some character of
     * the token is not in the alphabet.
     */
    static boolean decodeTo(String token, ByteArrayOutputStream out) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c >= CHAR_TO_BYTE.length || CHAR_TO_BYTE[c] < 0) {
                return false;
            }
        }
        for (int i = 0; i < token.length(); i++) {
            out.write(CHAR_TO_BYTE[token.charAt(i)]);
        }
        return true;
    }
}
