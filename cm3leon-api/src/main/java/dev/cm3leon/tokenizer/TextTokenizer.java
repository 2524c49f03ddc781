package dev.cm3leon.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;

/**
 * A text tokenizer read from a HuggingFace {@code tokenizer.json}, giving the same ids and the same decoded text as
 * the HF {@code tokenizers} library.
 *
 * <p>Encoding runs HF's pipeline: added tokens are found in the input first (even when special tokens are not
 * requested), the normalizer runs on each stretch of text between them, the pre-tokenizer splits it into words, the
 * BPE model turns each word into ids, and, when {@code addSpecialTokens} is set, the post-processor adds the model's
 * special tokens (such as BOS). Decoding maps ids back to token strings and runs the decoder; a prefix of the ids that
 * cuts a multi-byte character decodes with U+FFFD in its place, as HF does.
 *
 * <pre>{@code
 * TextTokenizer tokenizer = TextTokenizer.load(Path.of("tokenizer.json"));
 * int[] ids = tokenizer.encode("Hello world", true);
 * String text = tokenizer.decode(ids, true);
 * }</pre>
 *
 * <p>Instances are immutable and safe to share between threads.
 */
public final class TextTokenizer {
    private final String source;
    private final BpeModel model;
    private final Normalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final PostProcessor postProcessor;
    private final Decoder decoder;
    private final AddedVocabulary addedVocabulary;
    private final List<AddedToken> addedTokens;
    private final Map<String, Integer> addedIds;
    /** Token string of every id, added tokens taking precedence over the model's vocabulary; null for holes. */
    private final String[] tokenById;
    private final boolean[] specialById;
    private final int vocabSize;

    private TextTokenizer(String source, TokenizerJsonReader.Parts parts) {
        this.source = source;
        this.model = parts.model();
        this.normalizer = parts.normalizer();
        this.preTokenizer = parts.preTokenizer();
        this.postProcessor = parts.postProcessor();
        this.decoder = parts.decoder();
        List<AddedToken> sorted = new ArrayList<>(parts.addedTokens());
        sorted.sort(Comparator.comparingInt(AddedToken::id));
        this.addedTokens = List.copyOf(sorted);
        this.addedVocabulary = new AddedVocabulary(addedTokens, normalizer);

        Map<String, Integer> ids = new HashMap<>();
        Set<String> specialContents = new HashSet<>();
        int maxId = model.vocab().values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        for (AddedToken token : addedTokens) {
            ids.put(token.content(), token.id());
            maxId = Math.max(maxId, token.id());
            if (token.special()) {
                specialContents.add(token.content());
            }
        }
        this.addedIds = Map.copyOf(ids);
        this.tokenById = new String[maxId + 1];
        model.vocab().forEach((token, id) -> tokenById[id] = token);
        addedTokens.forEach(token -> tokenById[token.id()] = token.content());
        // HF skips by content: any id whose token string is a special token's content is special.
        this.specialById = new boolean[maxId + 1];
        for (int id = 0; id <= maxId; id++) {
            specialById[id] = tokenById[id] != null && specialContents.contains(tokenById[id]);
        }
        int distinct = model.vocabSize();
        for (String content : addedIds.keySet()) {
            if (model.id(content) < 0) {
                distinct++;
            }
        }
        this.vocabSize = distinct;
    }

    /** Reads a {@code tokenizer.json}, or a gzip-compressed one ({@code tokenizer.json.gz}). */
    public static TextTokenizer load(Path tokenizerJson) {
        String source = tokenizerJson.getFileName() == null ? tokenizerJson.toString()
                : tokenizerJson.getFileName().toString();
        byte[] bytes;
        try {
            // A size check first: a huge file (or a FIFO) would otherwise exhaust the heap or block the read.
            if (Files.exists(tokenizerJson) && !Files.isRegularFile(tokenizerJson)) {
                throw new TokenizerException(source + ": " + tokenizerJson + " is not a regular file");
            }
            long size = Files.exists(tokenizerJson) ? Files.size(tokenizerJson) : 0;
            if (size > TokenizerJsonReader.MAX_BYTES) {
                throw new TokenizerException(source + ": " + size + " bytes, more than the " + TokenizerJsonReader.MAX_BYTES
                        + " bytes accepted for a tokenizer");
            }
            bytes = Files.readAllBytes(tokenizerJson);
        } catch (IOException e) {
            throw new TokenizerException(source + ": cannot read " + tokenizerJson + ": " + e.getMessage(), e);
        }
        return fromJson(bytes, source);
    }

    /**
     * Reads a tokenizer from a stream (plain or gzip-compressed JSON), which is read to its end but not closed.
     *
     * @param sourceName how error messages name the input, e.g. {@code tokenizer.json}
     */
    public static TextTokenizer load(InputStream in, String sourceName) {
        try {
            byte[] bytes = in.readNBytes(TokenizerJsonReader.MAX_BYTES + 1);
            if (bytes.length > TokenizerJsonReader.MAX_BYTES) {
                throw new TokenizerException(sourceName + ": more than the " + TokenizerJsonReader.MAX_BYTES
                        + " bytes accepted for a tokenizer");
            }
            return fromJson(bytes, sourceName);
        } catch (IOException e) {
            throw new TokenizerException(sourceName + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads a tokenizer from the bytes of a (plain or gzip-compressed) {@code tokenizer.json}. */
    public static TextTokenizer fromJson(byte[] json, String sourceName) {
        Objects.requireNonNull(json, "json");
        Objects.requireNonNull(sourceName, "sourceName");
        return new TextTokenizer(sourceName, TokenizerJsonReader.read(json, sourceName));
    }

    /**
     * The ids of {@code text}. Added tokens in the text are recognised whether or not {@code addSpecialTokens} is
     * set; the flag only decides whether the post-processor adds the model's special tokens around the text.
     */
    public int[] encode(String text, boolean addSpecialTokens) {
        return run(text, addSpecialTokens, false).ids();
    }

    /** Like {@link #encode}, with the token strings and the special-tokens mask HF reports beside the ids. */
    public Encoding encodeWithTokens(String text, boolean addSpecialTokens) {
        return run(text, addSpecialTokens, true).build();
    }

    private EncodingBuilder run(String text, boolean addSpecialTokens, boolean keepTokens) {
        Objects.requireNonNull(text, "text");
        List<Piece> pieces = addedVocabulary.extractAndNormalize(text, normalizer);
        if (preTokenizer != null) {
            pieces = preTokenizer.preTokenize(pieces);
        }
        EncodingBuilder encoded = new EncodingBuilder(text.length() / 3 + 4, keepTokens);
        for (Piece piece : pieces) {
            if (piece.isToken()) {
                encoded.add(piece.tokenId(), piece.text());
            } else {
                model.tokenize(piece.text(), encoded);
            }
        }
        if (!addSpecialTokens || postProcessor == null) {
            return encoded;
        }
        EncodingBuilder processed = new EncodingBuilder(encoded.size() + 4, keepTokens);
        postProcessor.process(encoded, processed);
        return processed;
    }

    /**
     * The text of {@code ids}. Ids that are not in the vocabulary are ignored, as HF ignores them. With
     * {@code skipSpecialTokens}, added tokens marked special are left out; other added tokens are kept.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        List<String> tokens = new ArrayList<>(ids.length);
        for (int id : ids) {
            if (id < 0 || id >= tokenById.length || tokenById[id] == null) {
                continue;
            }
            if (skipSpecialTokens && specialById[id]) {
                continue;
            }
            tokens.add(tokenById[id]);
        }
        return decoder == null ? String.join(" ", tokens) : decoder.decode(tokens);
    }

    /**
     * The token string of an id, in the model's alphabet (e.g. {@code Ġworld}).
     *
     * @throws IllegalArgumentException if the id is not in the vocabulary
     */
    public String token(int id) {
        if (id < 0 || id >= tokenById.length || tokenById[id] == null) {
            throw new IllegalArgumentException("id " + id + " is not in the vocabulary of " + source);
        }
        return tokenById[id];
    }

    /** The id of a token string (an added token's content, or a vocabulary entry), if there is one. */
    public OptionalInt tokenId(String token) {
        Integer added = addedIds.get(token);
        if (added != null) {
            return OptionalInt.of(added);
        }
        int id = model.id(token);
        return id < 0 ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /**
     * The number of distinct tokens: the model's vocabulary plus the added tokens it does not already hold (HF's
     * {@code get_vocab_size(with_added_tokens=true)}). Ids may have holes, so see {@link #maxTokenId()} for sizing
     * an embedding table.
     */
    public int vocabSize() {
        return vocabSize;
    }

    /** The largest id any token has. */
    public int maxTokenId() {
        return tokenById.length - 1;
    }

    /** Whether the id is an added token marked special (BOS, EOS, padding, image markers...). */
    public boolean isSpecial(int id) {
        return id >= 0 && id < specialById.length && specialById[id];
    }

    /** The added tokens, by increasing id. */
    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    @Override
    public String toString() {
        return "TextTokenizer[" + source + ", " + vocabSize + " tokens, " + addedTokens.size() + " added]";
    }
}
