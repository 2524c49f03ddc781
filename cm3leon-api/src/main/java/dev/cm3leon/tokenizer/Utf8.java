package dev.cm3leon.tokenizer;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;

/**
 * Lossy UTF-8 decoding that replaces each maximal ill-formed subsequence with one U+FFFD, the Unicode recommended
 * practice that Rust's {@code String::from_utf8_lossy} follows. Decoding a prefix of a token stream may cut a
 * character; the streaming caller then sees U+FFFD exactly where HF does.
 */
final class Utf8 {
    private static final char REPLACEMENT = '\uFFFD';

    private Utf8() {
    }

    static String decodeLossy(byte[] bytes, int length) {
        StringBuilder out = new StringBuilder(length);
        int i = 0;
        while (i < length) {
            int b0 = bytes[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need;
            int lower = 0x80;
            int upper = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                if (b0 == 0xE0) {
                    lower = 0xA0;
                } else if (b0 == 0xED) {
                    upper = 0x9F; // no surrogates
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                if (b0 == 0xF0) {
                    lower = 0x90;
                } else if (b0 == 0xF4) {
                    upper = 0x8F;
                }
            } else {
                out.append(REPLACEMENT);
                i++;
                continue;
            }
            int cp = b0 & (0x3F >> need);
            int j = i + 1;
            boolean complete = true;
            for (int k = 0; k < need; k++, j++) {
                int b = j < length ? bytes[j] & 0xFF : -1;
                int lo = k == 0 ? lower : 0x80;
                int hi = k == 0 ? upper : 0xBF;
                if (b < lo || b > hi) {
                    complete = false;
                    break;
                }
                cp = (cp << 6) | (b & 0x3F);
            }
            if (complete) {
                out.appendCodePoint(cp);
            } else {
                out.append(REPLACEMENT); // the valid prefix [i, j) is one maximal ill-formed subsequence
            }
            i = j;
        }
        return out.toString();
    }

    /** The text the bytes encode, or {@code null} if they are not well-formed UTF-8 as a whole. */
    static String decodeStrict(byte[] bytes, int length) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, 0, length)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }
}
