package dev.cm3leon.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Token string → id as a {@code tokenizer.json} (HF's tokenizers format; Meta's {@code text_tokenizer.json} is one)
 * declares it: the model's {@code vocab}, then the {@code added_tokens}, which win where both name a string.
 */
public final class TokenizerVocabulary {
    /** Meta's name for the image placeholder, which HF's converter renames {@code <image>}. */
    public static final String META_IMAGE_PLACEHOLDER = "<reserved08707>";

    private TokenizerVocabulary() {
    }

    public static Map<String, Integer> read(Path tokenizerJson) {
        ConfigReader c = ConfigReader.read(tokenizerJson);
        Map<String, Integer> out = new LinkedHashMap<>();
        ConfigReader model = c.object("model");
        JsonNode vocab = model.root().get("vocab");
        if (vocab == null || !vocab.isObject()) throw c.error("model.vocab", "must be an object of token → id");
        vocab.properties().forEach(e -> out.put(e.getKey(), id(c, "model.vocab." + e.getKey(), e.getValue())));
        JsonNode added = c.root().get("added_tokens");
        if (added != null && !added.isNull()) {
            if (!added.isArray()) throw c.error("added_tokens", "must be an array");
            for (int i = 0; i < added.size(); i++) {
                JsonNode t = added.get(i), content = t.get("content");
                if (content == null || !content.isTextual()) throw c.error("added_tokens", "element " + i + " has no string 'content'");
                out.put(content.asText(), id(c, "added_tokens[" + i + "].id", t.get("id")));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /** The vocabulary as HF's converter gives it to {@code vocabulary_map}: Meta's placeholder named {@code <image>}. */
    public static Map<String, Integer> asVocabularyMap(Map<String, Integer> tokens) {
        if (tokens.containsKey(VocabularyMap.IMAGE_PLACEHOLDER) || !tokens.containsKey(META_IMAGE_PLACEHOLDER)) return tokens;
        Map<String, Integer> out = new LinkedHashMap<>(tokens);
        out.put(VocabularyMap.IMAGE_PLACEHOLDER, out.remove(META_IMAGE_PLACEHOLDER));
        return Collections.unmodifiableMap(out);
    }

    private static int id(ConfigReader c, String field, JsonNode v) {
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0) {
            throw c.error(field, "must be a non-negative integer id, found " + v);
        }
        return v.asInt();
    }
}
