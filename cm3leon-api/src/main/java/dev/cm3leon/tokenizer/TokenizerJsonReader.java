package dev.cm3leon.tokenizer;

import static dev.cm3leon.tokenizer.JsonFields.array;
import static dev.cm3leon.tokenizer.JsonFields.bool;
import static dev.cm3leon.tokenizer.JsonFields.isAbsent;
import static dev.cm3leon.tokenizer.JsonFields.nonNegativeInt;
import static dev.cm3leon.tokenizer.JsonFields.object;
import static dev.cm3leon.tokenizer.JsonFields.optionalString;
import static dev.cm3leon.tokenizer.JsonFields.string;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads a HF {@code tokenizer.json} (optionally gzip-compressed) into the parts of a {@link TextTokenizer}. */
final class TokenizerJsonReader {
    private static final Logger LOG = LoggerFactory.getLogger(TokenizerJsonReader.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Ids are array indices here; a vocabulary that claims more is a broken file, not a model. */
    private static final int MAX_ID = 1 << 24;
    /**
     * The largest tokenizer.json accepted, plain or inflated: real ones are under 40 MB, so this refuses gzip bombs
     * and runaway files before they exhaust the heap.
     */
    static final int MAX_BYTES = 128 << 20;

    /** Everything a tokenizer is made of; optional components are {@code null}. */
    record Parts(BpeModel model, Normalizer normalizer, PreTokenizer preTokenizer, PostProcessor postProcessor,
                 Decoder decoder, List<AddedToken> addedTokens) {
    }

    private TokenizerJsonReader() {
    }

    /**
     * @param source the file name that error messages start with
     * @throws TokenizerException if the bytes are not a tokenizer this library can run
     */
    static Parts read(byte[] bytes, String source) {
        JsonNode root = parse(gunzipIfNeeded(bytes, source), source);
        try {
            return parts(root);
        } catch (IllegalArgumentException e) {
            throw new TokenizerException(source + ": " + e.getMessage(), e);
        }
    }

    private static byte[] gunzipIfNeeded(byte[] bytes, String source) {
        if (bytes.length < 2 || (bytes[0] & 0xFF) != 0x1F || (bytes[1] & 0xFF) != 0x8B) {
            return bytes;
        }
        try (var in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
            byte[] inflated = in.readNBytes(MAX_BYTES + 1);
            if (inflated.length > MAX_BYTES) {
                throw new TokenizerException(source + ": inflates to more than " + MAX_BYTES + " bytes, larger than any tokenizer");
            }
            return inflated;
        } catch (IOException e) {
            throw new TokenizerException(source + ": corrupt or truncated gzip data: " + e.getMessage(), e);
        }
    }

    private static JsonNode parse(byte[] json, String source) {
        try {
            JsonNode root = JSON.readTree(json);
            if (root == null || !root.isObject()) {
                throw new TokenizerException(source + ": not a tokenizer.json (the top level must be a JSON object)");
            }
            return root;
        } catch (JsonProcessingException e) {
            String where = e.getProcessor() instanceof JsonParser parser
                    ? " in " + describe(parser.getParsingContext().pathAsPointer().toString()) : "";
            String line = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            throw new TokenizerException(source + ": malformed JSON" + where + line + ": " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new TokenizerException(source + ": cannot read JSON: " + e.getMessage(), e);
        }
    }

    /** A JSON pointer such as {@code /model/merges/3} as the field path {@code model.merges[3]}. */
    private static String describe(String pointer) {
        if (pointer.isEmpty()) {
            return "the top level";
        }
        StringBuilder path = new StringBuilder();
        for (String part : pointer.substring(1).split("/")) {
            if (!part.isEmpty() && part.chars().allMatch(Character::isDigit)) {
                path.append('[').append(part).append(']');
            } else {
                path.append(path.isEmpty() ? "" : ".").append(part.replace("~1", "/").replace("~0", "~"));
            }
        }
        return path.toString();
    }

    private static Parts parts(JsonNode root) {
        String version = optionalString(root, "version", "");
        if (version != null && !version.equals("1.0")) {
            throw new IllegalArgumentException("version '" + version + "' is not supported (expected 1.0)");
        }
        for (String ignored : List.of("truncation", "padding")) {
            if (!isAbsent(root, ignored)) {
                LOG.warn("{} is set in the tokenizer file but not applied: encode returns every token", ignored);
            }
        }
        Normalizer normalizer = isAbsent(root, "normalizer") ? null
                : ComponentReader.normalizer(root.get("normalizer"), "normalizer");
        PreTokenizer preTokenizer = isAbsent(root, "pre_tokenizer") ? null
                : ComponentReader.preTokenizer(root.get("pre_tokenizer"), "pre_tokenizer");
        PostProcessor postProcessor = isAbsent(root, "post_processor") ? null
                : ComponentReader.postProcessor(root.get("post_processor"), "post_processor");
        Decoder decoder = isAbsent(root, "decoder") ? null : ComponentReader.decoder(root.get("decoder"), "decoder");
        BpeModel model = model(object(root, "model", ""));
        List<AddedToken> added = isAbsent(root, "added_tokens") ? List.of() : addedTokens(root, model);
        return new Parts(model, normalizer, preTokenizer, postProcessor, decoder, added);
    }

    private static BpeModel model(JsonNode model) {
        String type = optionalString(model, "type", "model");
        if (type == null && !model.has("merges")) {
            throw new IllegalArgumentException("model.type is missing");
        }
        if (type != null && !type.equals("BPE")) {
            throw new IllegalArgumentException("model type '" + type + "' is not supported (only BPE is)");
        }
        JsonNode dropout = model.get("dropout");
        if (dropout != null && dropout.isNumber() && dropout.doubleValue() > 0) {
            LOG.warn("model.dropout {} is a training option and is not applied", dropout.doubleValue());
        }
        Map<String, Integer> vocab = vocab(object(model, "vocab", "model"));
        List<String[]> merges = merges(array(model, "merges", "model"));
        var options = new BpeModel.Options(optionalString(model, "unk_token", "model"),
                bool(model, "fuse_unk", "model", false), bool(model, "byte_fallback", "model", false),
                bool(model, "ignore_merges", "model", false),
                optionalString(model, "continuing_subword_prefix", "model"),
                optionalString(model, "end_of_word_suffix", "model"));
        BpeModel bpe = new BpeModel(vocab, merges, options);
        if (bpe.unkTokenMissing()) {
            LOG.warn("model.unk_token '{}' is not in model.vocab; text it would stand for cannot be encoded",
                    options.unkToken());
        }
        return bpe;
    }

    private static Map<String, Integer> vocab(JsonNode vocab) {
        Map<String, Integer> out = HashMap.newHashMap(vocab.size());
        vocab.properties().forEach(entry -> {
            JsonNode value = entry.getValue();
            // The path is only built for a bad entry: vocabularies have hundreds of thousands of them.
            int id = value.isInt() && value.intValue() >= 0 ? value.intValue()
                    : nonNegativeInt(value, "model.vocab['" + entry.getKey() + "']");
            if (id >= MAX_ID) {
                throw new IllegalArgumentException("model.vocab['" + entry.getKey() + "'] has id " + id
                        + ", beyond the supported " + MAX_ID);
            }
            out.put(entry.getKey(), id);
        });
        return out;
    }

    /** Merges as {@code "a b"} strings (lines starting with {@code #version} skipped) or {@code ["a", "b"]} pairs. */
    private static List<String[]> merges(JsonNode merges) {
        List<String[]> out = new ArrayList<>(merges.size());
        for (int i = 0; i < merges.size(); i++) {
            JsonNode merge = merges.get(i);
            String[] pair = null;
            if (merge.isTextual()) {
                if (merge.textValue().startsWith("#version")) {
                    continue;
                }
                String[] parts = merge.textValue().split(" ", -1);
                pair = parts.length == 2 ? parts : null;
            } else if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual() && merge.get(1).isTextual()) {
                pair = new String[] {merge.get(0).textValue(), merge.get(1).textValue()};
            }
            if (pair == null) {
                throw new IllegalArgumentException("model.merges[" + i + "] must be \"a b\" or [\"a\", \"b\"], not "
                        + merge);
            }
            out.add(pair);
        }
        return out;
    }

    /**
     * The added tokens. As in HF, a token whose content is in the model vocabulary takes the vocabulary's id; the
     * file's id is used otherwise.
     */
    private static List<AddedToken> addedTokens(JsonNode root, BpeModel model) {
        JsonNode tokens = array(root, "added_tokens", "");
        List<AddedToken> out = new ArrayList<>(tokens.size());
        for (int i = 0; i < tokens.size(); i++) {
            JsonNode token = tokens.get(i);
            String path = "added_tokens[" + i + "]";
            if (!token.isObject()) {
                throw new IllegalArgumentException(path + " must be an object");
            }
            String content = string(token, "content", path);
            int fileId = nonNegativeInt(token, "id", path, -1);
            int vocabId = model.id(content);
            if (fileId < 0 && vocabId < 0) {
                throw new IllegalArgumentException(path + ".id is missing");
            }
            if (vocabId >= 0 && fileId >= 0 && vocabId != fileId) {
                LOG.warn("added token '{}' has id {} in the file but {} in the vocabulary; using {}", content, fileId,
                        vocabId, vocabId);
            }
            int id = vocabId >= 0 ? vocabId : fileId;
            if (id >= MAX_ID) {
                throw new IllegalArgumentException(path + ".id " + id + " is beyond the supported " + MAX_ID);
            }
            boolean special = bool(token, "special", path, false);
            out.add(new AddedToken(id, content, bool(token, "single_word", path, false),
                    bool(token, "lstrip", path, false), bool(token, "rstrip", path, false),
                    bool(token, "normalized", path, !special), special));
        }
        return out;
    }
}
