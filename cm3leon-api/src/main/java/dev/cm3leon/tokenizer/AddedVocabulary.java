package dev.cm3leon.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds added tokens in the input before the model runs, as HF's {@code AddedVocabulary} does: tokens with
 * {@code normalized: false} in the raw text, then, in each stretch between them, the normalizer runs and tokens with
 * {@code normalized: true} are found in its output. Matching is leftmost-longest; {@code single_word}, {@code lstrip}
 * and {@code rstrip} then adjust or discard each match.
 */
final class AddedVocabulary {
    private final Map<Integer, AddedToken> byId = new HashMap<>();
    private final TokenTrie rawTrie = new TokenTrie();
    private final TokenTrie normalizedTrie = new TokenTrie();

    AddedVocabulary(List<AddedToken> tokens, Normalizer normalizer) {
        for (AddedToken token : tokens) {
            byId.put(token.id(), token);
            if (!token.normalized()) {
                rawTrie.add(token.content(), token.id());
            } else {
                String content = normalizer == null ? token.content() : normalizer.normalize(token.content());
                normalizedTrie.add(content, token.id());
            }
        }
    }

    /** Splits the input at added tokens and normalizes the text between them. */
    List<Piece> extractAndNormalize(String text, Normalizer normalizer) {
        List<Piece> pieces = new ArrayList<>();
        split(text, true, rawTrie, (piece) -> {
            if (piece.isToken()) {
                pieces.add(piece);
                return;
            }
            String normalized = normalizer == null ? piece.text() : normalizer.normalize(piece.text());
            split(normalized, piece.atOrigin(), normalizedTrie, pieces::add);
        });
        return pieces;
    }

    private interface PieceSink {
        void accept(Piece piece);
    }

    /** HF's {@code find_matches}: the text cut into added tokens and the (non-empty) stretches between them. */
    private void split(String text, boolean atOrigin, TokenTrie trie, PieceSink sink) {
        int startOffset = 0;
        int pos = 0;
        while (pos < text.length() && !trie.isEmpty()) {
            long match = trie.longestMatchAt(text, pos);
            if (match < 0) {
                pos++;
                continue;
            }
            int id = (int) (match >>> 32);
            int start = pos;
            int stop = pos + (int) match;
            pos = stop; // the search goes on after the match itself, whatever rstrip absorbs
            AddedToken token = byId.get(id);
            if (token.singleWord()) {
                boolean startSpace = start == 0 || !UnicodeChars.isWordChar(text.codePointBefore(start));
                boolean stopSpace = stop == text.length() || !UnicodeChars.isWordChar(text.codePointAt(stop));
                if (!startSpace || !stopSpace) {
                    continue;
                }
            }
            if (token.lstrip()) {
                int newStart = start;
                while (newStart > 0 && UnicodeChars.isWhitespace(text.codePointBefore(newStart))) {
                    newStart -= Character.charCount(text.codePointBefore(newStart));
                }
                // A previous match may already have taken those spaces.
                start = Math.max(newStart, startOffset);
            }
            if (token.rstrip()) {
                while (stop < text.length() && UnicodeChars.isWhitespace(text.codePointAt(stop))) {
                    stop += Character.charCount(text.codePointAt(stop));
                }
            }
            if (startOffset < start) {
                sink.accept(Piece.text(text.substring(startOffset, start), atOrigin && startOffset == 0));
            }
            sink.accept(new Piece(text.substring(start, stop), id, atOrigin && start == 0));
            startOffset = stop;
        }
        if (startOffset < text.length()) {
            sink.accept(Piece.text(text.substring(startOffset), atOrigin && startOffset == 0));
        }
    }

    /**
     * A character trie of token contents. The first characters of all contents are also kept in a bit set, so that
     * the scan of a long text without tokens costs one bit test per character.
     */
    private static final class TokenTrie {
        private final Node root = new Node();
        private final long[] firstChars = new long[(Character.MAX_VALUE + 1) / 64];
        private boolean empty = true;

        private static final class Node {
            final Map<Character, Node> children = new HashMap<>(4);
            int tokenId = -1;
        }

        void add(String content, int id) {
            if (content.isEmpty()) {
                return;
            }
            Node node = root;
            for (int i = 0; i < content.length(); i++) {
                node = node.children.computeIfAbsent(content.charAt(i), c -> new Node());
            }
            if (node.tokenId < 0) { // the first of two identical contents wins
                node.tokenId = id;
            }
            char first = content.charAt(0);
            firstChars[first >>> 6] |= 1L << first;
            empty = false;
        }

        boolean isEmpty() {
            return empty;
        }

        /** The longest token starting at {@code pos} as {@code id << 32 | length}, or -1. */
        long longestMatchAt(String text, int pos) {
            char first = text.charAt(pos);
            if ((firstChars[first >>> 6] & (1L << first)) == 0) {
                return -1;
            }
            Node node = root;
            long best = -1;
            for (int i = pos; i < text.length(); i++) {
                node = node.children.get(text.charAt(i));
                if (node == null) {
                    break;
                }
                if (node.tokenId >= 0) {
                    best = ((long) node.tokenId << 32) | (i + 1 - pos);
                }
            }
            return best;
        }
    }
}
