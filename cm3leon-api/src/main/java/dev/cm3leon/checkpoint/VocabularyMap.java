package dev.cm3leon.checkpoint;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * Chameleon's {@code vocabulary_map}: token string → BPE id, and from it the image tokens ({@code IMGIMG…Z}, whose
 * letters A–J spell the codebook index in decimal) and the special tokens that frame images.
 * Image-token ids need not be contiguous or ordered.
 */
public final class VocabularyMap {
    public static final String IMAGE_TOKEN_PREFIX = "IMGIMG";
    public static final String BOI = "<racm3:break>";
    public static final String EOI = "<eoss>";
    public static final String IMAGE_PLACEHOLDER = "<image>";
    public static final String SEP = "<reserved08706>";
    public static final String SENTINEL_PREFIX = "<sentinel:";
    public static final String SENTINEL_END = "<sentinel:end>";

    private final Map<String, Integer> tokenToId;
    private final int[] imageTokenIds;      // sorted ascending
    private final int[] codebookToBpe;      // codebook index → BPE id
    private final int[] bpeToCodebook;      // BPE id → codebook index, or -1
    private final int boi, eoi, imagePlaceholder, sep, sentinelEnd;
    private final int[] sentinels;

    private VocabularyMap(Map<String, Integer> tokenToId, int[] imageTokenIds, int[] codebookToBpe, int[] bpeToCodebook,
                          int[] sentinels) {
        this.tokenToId = tokenToId;
        this.imageTokenIds = imageTokenIds;
        this.codebookToBpe = codebookToBpe;
        this.bpeToCodebook = bpeToCodebook;
        this.boi = tokenToId.getOrDefault(BOI, -1);
        this.eoi = tokenToId.getOrDefault(EOI, -1);
        this.imagePlaceholder = tokenToId.getOrDefault(IMAGE_PLACEHOLDER, -1);
        this.sep = tokenToId.getOrDefault(SEP, -1);
        this.sentinelEnd = tokenToId.getOrDefault(SENTINEL_END, -1);
        this.sentinels = sentinels;
    }

    /**
     * Builds the map and checks it: ids within the vocabulary, no id used twice, image-token names well formed and
     * their codebook indices unique and dense (0..n-1).
     */
    public static VocabularyMap of(Map<String, Integer> tokenToId, int vocabSize, Path file) {
        Map<Integer, String> seen = new HashMap<>();
        TreeMap<Integer, Integer> codeToId = new TreeMap<>();
        for (Map.Entry<String, Integer> e : tokenToId.entrySet()) {
            int id = e.getValue();
            if (id < 0 || id >= vocabSize) {
                throw CheckpointException.of(file, "vocabulary_map: token '" + e.getKey() + "' has id " + id
                        + ", outside the vocabulary of " + vocabSize);
            }
            String previous = seen.putIfAbsent(id, e.getKey());
            if (previous != null) {
                throw CheckpointException.of(file, "vocabulary_map: id " + id + " is used by both '" + previous
                        + "' and '" + e.getKey() + "'");
            }
            if (isImageTokenName(e.getKey())) {
                int code = codebookIndexOf(e.getKey(), file);
                Integer other = codeToId.putIfAbsent(code, id);
                if (other != null) {
                    throw CheckpointException.of(file, "vocabulary_map: codebook index " + code + " is named twice ('"
                            + e.getKey() + "' and id " + other + ")");
                }
            }
        }
        int n = codeToId.size();
        if (n > 0 && codeToId.lastKey() != n - 1) {
            throw CheckpointException.of(file, "vocabulary_map: image tokens name codebook indices up to "
                    + codeToId.lastKey() + " but there are only " + n + " of them (indices must be 0.." + (n - 1) + ")");
        }
        int[] codebookToBpe = new int[n];
        int[] bpeToCodebook = new int[vocabSize];
        Arrays.fill(bpeToCodebook, -1);
        codeToId.forEach((code, id) -> {
            codebookToBpe[code] = id;
            bpeToCodebook[id] = code;
        });
        int[] imageIds = codeToId.values().stream().mapToInt(Integer::intValue).sorted().toArray();
        List<int[]> sentinelPairs = new ArrayList<>();
        tokenToId.forEach((tok, id) -> {
            if (tok.startsWith(SENTINEL_PREFIX) && tok.endsWith(">") && !tok.equals(SENTINEL_END)) {
                String num = tok.substring(SENTINEL_PREFIX.length(), tok.length() - 1);
                if (!num.isEmpty() && num.chars().allMatch(Character::isDigit) && num.length() < 6) {
                    sentinelPairs.add(new int[]{Integer.parseInt(num), id});
                }
            }
        });
        sentinelPairs.sort((a, b) -> Integer.compare(a[0], b[0]));
        int[] sentinels = sentinelPairs.stream().mapToInt(p -> p[1]).toArray();
        return new VocabularyMap(Collections.unmodifiableMap(new HashMap<>(tokenToId)), imageIds, codebookToBpe,
                bpeToCodebook, sentinels);
    }

    static boolean isImageTokenName(String token) {
        return token.startsWith(IMAGE_TOKEN_PREFIX) && token.endsWith("Z")
                && token.length() > IMAGE_TOKEN_PREFIX.length() + 1;
    }

    /** {@code IMGIMGBAZ} → 10: each letter A–J is a decimal digit. */
    static int codebookIndexOf(String token, Path file) {
        String letters = token.substring(IMAGE_TOKEN_PREFIX.length(), token.length() - 1);
        if (letters.length() > 7) throw CheckpointException.of(file, "vocabulary_map: image token '" + token + "' is too long");
        int v = 0;
        for (char c : letters.toCharArray()) {
            if (c < 'A' || c > 'J') {
                throw CheckpointException.of(file, "vocabulary_map: image token '" + token
                        + "' must spell its codebook index with letters A–J");
            }
            v = v * 10 + (c - 'A');
        }
        return v;
    }

    public Map<String, Integer> tokens() {
        return tokenToId;
    }

    public OptionalInt id(String token) {
        Integer id = tokenToId.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Image-token BPE ids, ascending. */
    /** Ids run from 0 to this, exclusive. */
    public int vocabSize() {
        return bpeToCodebook.length;
    }

    public int[] imageTokenIds() {
        return imageTokenIds.clone();
    }

    public int imageTokenCount() {
        return codebookToBpe.length;
    }

    public boolean isImageToken(int bpeId) {
        return bpeId >= 0 && bpeId < bpeToCodebook.length && bpeToCodebook[bpeId] >= 0;
    }

    public int bpeIdOfCode(int codebookIndex) {
        if (codebookIndex < 0 || codebookIndex >= codebookToBpe.length) {
            throw new CheckpointException("codebook index " + codebookIndex + " is outside the codebook of "
                    + codebookToBpe.length + " image tokens");
        }
        return codebookToBpe[codebookIndex];
    }

    /** The codebook index of an image token's BPE id, or -1 if the id is not an image token. */
    public int codeOfBpeId(int bpeId) {
        return bpeId >= 0 && bpeId < bpeToCodebook.length ? bpeToCodebook[bpeId] : -1;
    }

    public int beginOfImage() {
        return boi;
    }

    public int endOfImage() {
        return eoi;
    }

    public int imagePlaceholder() {
        return imagePlaceholder;
    }

    public int separator() {
        return sep;
    }

    /** CM3 infilling sentinels {@code <sentinel:0>, <sentinel:1>, …} in order; empty if the checkpoint has none. */
    public int[] sentinels() {
        return sentinels.clone();
    }

    /** The end-of-span token of CM3 infilling, or -1. */
    public int sentinelEnd() {
        return sentinelEnd;
    }
}
