package dev.cm3leon.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns token strings back into text. Like HF, each decoder maps a list of token strings to a new list (a
 * {@link Sequence} chains them) and the final list is concatenated.
 */
sealed interface Decoder {

    List<String> decodeChain(List<String> tokens);

    default String decode(List<String> tokens) {
        return String.join("", decodeChain(tokens));
    }

    /**
     * Maps byte-level characters back to bytes and decodes them as UTF-8; a token with characters outside the
     * alphabet (an added token such as {@code <|endoftext|>} usually is inside it) contributes its own UTF-8 bytes.
     * Invalid UTF-8, e.g. a character cut by a prefix of the ids, becomes U+FFFD.
     */
    record ByteLevel() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String token : tokens) {
                if (!ByteLevelAlphabet.decodeTo(token, bytes)) {
                    bytes.writeBytes(token.getBytes(StandardCharsets.UTF_8));
                }
            }
            byte[] all = bytes.toByteArray();
            return List.of(Utf8.decodeLossy(all, all.length));
        }
    }

    /** Replacement characters (▁) become spaces, except in the first token when a prefix was prepended. */
    record Metaspace(int replacement, boolean prependsSpace) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                boolean dropReplacement = i == 0 && prependsSpace;
                StringBuilder token = new StringBuilder();
                tokens.get(i).codePoints().forEach(cp -> {
                    if (cp != replacement) {
                        token.appendCodePoint(cp);
                    } else if (!dropReplacement) {
                        token.append(' ');
                    }
                });
                out.add(token.toString());
            }
            return out;
        }
    }

    /**
     * Runs of {@code <0xXX>} tokens become the text their bytes spell; a run that is not valid UTF-8 becomes one
     * U+FFFD per byte, as in HF.
     */
    record ByteFallback() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            ByteArrayOutputStream run = new ByteArrayOutputStream();
            for (String token : tokens) {
                int value = byteValue(token);
                if (value >= 0) {
                    run.write(value);
                    continue;
                }
                flush(run, out);
                out.add(token);
            }
            flush(run, out);
            return out;
        }

        private static int byteValue(String token) {
            if (token.length() != 6 || !token.startsWith("<0x") || token.charAt(5) != '>') {
                return -1;
            }
            int lo = hexDigit(token.charAt(4));
            // Rust's u8::from_str_radix, which HF uses here, also accepts a leading '+'.
            int hi = token.charAt(3) == '+' ? 0 : hexDigit(token.charAt(3));
            return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        }

        private static int hexDigit(char c) {
            return c < 0x80 ? Character.digit(c, 16) : -1;
        }

        private static void flush(ByteArrayOutputStream run, List<String> out) {
            if (run.size() == 0) {
                return;
            }
            byte[] bytes = run.toByteArray();
            String text = Utf8.decodeStrict(bytes, bytes.length);
            if (text != null) {
                out.add(text);
            } else {
                for (int i = 0; i < bytes.length; i++) {
                    out.add("\uFFFD");
                }
            }
            run.reset();
        }
    }

    /** Joins all tokens into one. */
    record Fuse() implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            return List.of(String.join("", tokens));
        }
    }

    /** Removes up to {@code start} leading and {@code stop} trailing {@code content} characters from each token. */
    record Strip(int content, int start, int stop) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String token : tokens) {
                int[] cps = token.codePoints().toArray();
                int from = 0;
                while (from < start && from < cps.length && cps[from] == content) {
                    from++;
                }
                int to = cps.length;
                // As in HF, the trailing cut may reach back over the leading one; clamp instead of failing.
                for (int i = 0; i < stop && to > 0 && cps[to - 1] == content; i++) {
                    to--;
                }
                out.add(to <= from ? "" : new String(cps, from, to - from));
            }
            return out;
        }
    }

    /** Replaces a pattern in each token. */
    record Replace(TextPattern pattern, String content) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (String token : tokens) {
                out.add(pattern.replaceAll(token, content));
            }
            return out;
        }
    }

    /** Classic BPE's end-of-word suffix (e.g. {@code </w>}) becomes a space, except after the last token. */
    record BpeSuffix(String suffix) implements Decoder {
        @Override
        public List<String> decodeChain(List<String> tokens) {
            List<String> out = new ArrayList<>(tokens.size());
            for (int i = 0; i < tokens.size(); i++) {
                out.add(tokens.get(i).replace(suffix, i == tokens.size() - 1 ? "" : " "));
            }
            return out;
        }
    }

    /** Runs decoders one after the other, each on the previous one's token list. */
    record Sequence(List<Decoder> steps) implements Decoder {
        public Sequence {
            steps = List.copyOf(steps);
        }

        @Override
        public List<String> decodeChain(List<String> tokens) {
            for (Decoder step : steps) {
                tokens = step.decodeChain(tokens);
            }
            return tokens;
        }
    }
}
