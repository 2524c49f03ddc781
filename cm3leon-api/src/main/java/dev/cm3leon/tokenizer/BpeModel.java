package dev.cm3leon.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The byte-pair-encoding model: splits a word into characters, looks each up (falling back to {@code <0xXX>} byte
 * tokens or the unknown token), then applies the merges by rank. Behaviour follows HF's {@code BPE} model, options
 * included: {@code byte_fallback}, {@code fuse_unk}, {@code ignore_merges}, {@code continuing_subword_prefix} and
 * {@code end_of_word_suffix}. Dropout is a training-time option and is not applied.
 */
final class BpeModel {
    /** Words shorter than this are cached, as HF caches them; the cache stops growing at {@link #CACHE_CAPACITY}. */
    private static final int CACHE_MAX_WORD_LENGTH = 256;
    private static final int CACHE_CAPACITY = 10_000;

    /** The options of a BPE model; empty prefix and suffix strings mean none, as in HF. */
    record Options(String unkToken, boolean fuseUnk, boolean byteFallback, boolean ignoreMerges,
                   String continuingSubwordPrefix, String endOfWordSuffix) {
        Options {
            continuingSubwordPrefix = Objects.requireNonNullElse(continuingSubwordPrefix, "");
            endOfWordSuffix = Objects.requireNonNullElse(endOfWordSuffix, "");
        }
    }

    /** A HashMap on purpose: {@code Map.copyOf} probes much slower for vocabularies of this size. */
    private final Map<String, Integer> vocab;
    private final String[] tokenById;
    private final MergeTable merges;
    private final int[] newIdByRank;
    private final Options options;
    private final int unkId;
    /** Id of the single-character token for each BMP character, -1 where none; null when a prefix or suffix applies. */
    private final int[] bmpCharIds;
    private final int[] byteTokenIds = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param merges the merge pairs in rank order
     * @throws IllegalArgumentException naming the field, if a merge uses a token missing from the vocabulary
     */
    BpeModel(Map<String, Integer> vocab, List<String[]> merges, Options options) {
        this.vocab = new HashMap<>(vocab);
        this.options = options;
        int maxId = vocab.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        tokenById = new String[maxId + 1];
        vocab.forEach((token, id) -> tokenById[id] = token);
        this.merges = new MergeTable(merges.size());
        newIdByRank = new int[merges.size()];
        int prefixLength = options.continuingSubwordPrefix().length();
        for (int rank = 0; rank < merges.size(); rank++) {
            String left = merges.get(rank)[0];
            String right = merges.get(rank)[1];
            int leftId = idOfMergePart(left, rank);
            int rightId = idOfMergePart(right, rank);
            if (right.length() < prefixLength) {
                throw new IllegalArgumentException("model.merges[" + rank + "]: '" + right
                        + "' is shorter than continuing_subword_prefix '" + options.continuingSubwordPrefix() + "'");
            }
            // As in HF, the merged token is the left part and the right part without the prefix's length.
            int newId = idOfMergePart(left + right.substring(prefixLength), rank);
            this.merges.put(leftId, rightId, rank, newId);
            newIdByRank[rank] = newId;
        }
        unkId = options.unkToken() == null ? -1 : vocab.getOrDefault(options.unkToken(), -1);
        for (int b = 0; b < 256; b++) {
            byteTokenIds[b] = vocab.getOrDefault("<0x%02X>".formatted(b), -1);
        }
        bmpCharIds = prefixLength == 0 && options.endOfWordSuffix().isEmpty() ? bmpCharIds(vocab) : null;
    }

    private int idOfMergePart(String token, int rank) {
        Integer id = vocab.get(token);
        if (id == null) {
            throw new IllegalArgumentException("model.merges[" + rank + "] references '" + token
                    + "', which is not in model.vocab");
        }
        return id;
    }

    private static int[] bmpCharIds(Map<String, Integer> vocab) {
        int[] ids = new int[Character.MAX_VALUE + 1];
        Arrays.fill(ids, -1);
        vocab.forEach((token, id) -> {
            if (token.length() == 1 && !Character.isSurrogate(token.charAt(0))) {
                ids[token.charAt(0)] = id;
            }
        });
        return ids;
    }

    /** Whether the unknown token is declared but missing from the vocabulary (HF fails only when it is needed). */
    boolean unkTokenMissing() {
        return options.unkToken() != null && unkId < 0;
    }

    int vocabSize() {
        return vocab.size();
    }

    /** The id of a vocabulary token, or -1. */
    int id(String token) {
        return vocab.getOrDefault(token, -1);
    }

    /** The token of an id, or {@code null}. */
    String token(int id) {
        return id >= 0 && id < tokenById.length ? tokenById[id] : null;
    }

    /** The vocabulary, read-only. */
    Map<String, Integer> vocab() {
        return Collections.unmodifiableMap(vocab);
    }

    /** Tokenizes one word (a pre-tokenized piece) and adds its tokens to {@code out}. */
    void tokenize(String word, EncodingBuilder out) {
        if (word.isEmpty()) {
            return;
        }
        if (options.ignoreMerges()) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole, word);
                return;
            }
        }
        int[] ids = word.length() < CACHE_MAX_WORD_LENGTH ? cache.get(word) : null;
        if (ids == null) {
            ids = mergeWord(word);
            if (word.length() < CACHE_MAX_WORD_LENGTH && cache.size() < CACHE_CAPACITY) {
                cache.put(word, ids);
            }
        }
        for (int id : ids) {
            out.add(id, tokenById[id]);
        }
    }

    /** HF's {@code BPE::merge_word}: initial symbols, unknown-token handling, then the merges. */
    private int[] mergeWord(String word) {
        int[] symbols = new int[word.length() + 8];
        int count = 0;
        boolean unkPending = false;
        for (int i = 0; i < word.length(); ) {
            int end = i + Character.charCount(word.codePointAt(i));
            int id = charId(word, i, end);
            if (id >= 0) {
                if (unkPending) {
                    symbols = append(symbols, count++, unkId);
                    unkPending = false;
                }
                symbols = append(symbols, count++, id);
            } else {
                int[] bytes = options.byteFallback() ? byteTokens(decorated(word, i, end)) : null;
                if (bytes != null) {
                    // HF adds the byte tokens without first flushing a pending unknown token; so do we.
                    for (int b : bytes) {
                        symbols = append(symbols, count++, b);
                    }
                } else if (options.unkToken() != null) {
                    if (unkId < 0) {
                        throw new TokenizerException("model.unk_token '" + options.unkToken()
                                + "' is needed for " + word.substring(i, end) + " but is not in model.vocab");
                    }
                    if (unkPending && !options.fuseUnk()) {
                        symbols = append(symbols, count++, unkId);
                    }
                    unkPending = true;
                }
            }
            i = end;
        }
        if (unkPending) {
            symbols = append(symbols, count++, unkId);
        }
        return BpeMerger.mergeAll(symbols, count, merges, newIdByRank);
    }

    private static int[] append(int[] symbols, int at, int id) {
        if (at == symbols.length) {
            symbols = Arrays.copyOf(symbols, symbols.length * 2);
        }
        symbols[at] = id;
        return symbols;
    }

    /** The id of the character at {@code [start, end)} with any prefix or suffix its position calls for, or -1. */
    private int charId(String word, int start, int end) {
        if (bmpCharIds != null && end - start == 1) {
            return bmpCharIds[word.charAt(start)];
        }
        return vocab.getOrDefault(decorated(word, start, end), -1);
    }

    private String decorated(String word, int start, int end) {
        String s = word.substring(start, end);
        if (start > 0) {
            s = options.continuingSubwordPrefix() + s;
        }
        if (end == word.length()) {
            s = s + options.endOfWordSuffix();
        }
        return s;
    }

    /** The {@code <0xXX>} tokens of the string's UTF-8 bytes, or {@code null} if one is missing. */
    private int[] byteTokens(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int k = 0; k < bytes.length; k++) {
            ids[k] = byteTokenIds[bytes[k] & 0xFF];
            if (ids[k] < 0) {
                return null;
            }
        }
        return ids;
    }
}
