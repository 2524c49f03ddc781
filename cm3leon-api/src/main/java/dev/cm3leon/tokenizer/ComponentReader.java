package dev.cm3leon.tokenizer;

import static dev.cm3leon.tokenizer.JsonFields.array;
import static dev.cm3leon.tokenizer.JsonFields.bool;
import static dev.cm3leon.tokenizer.JsonFields.character;
import static dev.cm3leon.tokenizer.JsonFields.nonNegativeInt;
import static dev.cm3leon.tokenizer.JsonFields.object;
import static dev.cm3leon.tokenizer.JsonFields.path;
import static dev.cm3leon.tokenizer.JsonFields.string;

import com.fasterxml.jackson.databind.JsonNode;
import java.text.Normalizer.Form;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.regex.PatternSyntaxException;

/**
 * Reads the pipeline components of a {@code tokenizer.json} (normalizer, pre-tokenizer, post-processor, decoder)
 * from their JSON form. An unknown {@code type} is an error rather than a silent skip: a component left out would
 * change the ids.
 */
final class ComponentReader {
    private ComponentReader() {
    }

    static Normalizer normalizer(JsonNode node, String path) {
        return switch (type(node, path)) {
            case "NFC" -> new Normalizer.Unicode(Form.NFC);
            case "NFD" -> new Normalizer.Unicode(Form.NFD);
            case "NFKC" -> new Normalizer.Unicode(Form.NFKC);
            case "NFKD" -> new Normalizer.Unicode(Form.NFKD);
            case "Lowercase" -> new Normalizer.Lowercase();
            case "Strip" -> new Normalizer.Strip(bool(node, "strip_left", path, true), bool(node, "strip_right", path, true));
            case "StripAccents" -> new Normalizer.StripAccents();
            case "Replace" -> new Normalizer.Replace(pattern(node, path), string(node, "content", path));
            case "Prepend" -> new Normalizer.Prepend(string(node, "prepend", path));
            case "ByteLevel" -> new Normalizer.ByteLevel();
            case "Sequence" -> new Normalizer.Sequence(list(node, "normalizers", path, ComponentReader::normalizer));
            default -> throw unsupported(node, path);
        };
    }

    static PreTokenizer preTokenizer(JsonNode node, String path) {
        return switch (type(node, path)) {
            case "ByteLevel" -> new PreTokenizer.ByteLevel(bool(node, "add_prefix_space", path, true),
                    bool(node, "use_regex", path, true));
            case "Metaspace" -> new PreTokenizer.Metaspace(character(node, "replacement", path),
                    prependScheme(node, path), bool(node, "split", path, true));
            case "Split" -> new PreTokenizer.Split(pattern(node, path),
                    behavior(string(node, "behavior", path), path(path, "behavior")), bool(node, "invert", path, false));
            case "Digits" -> new PreTokenizer.Digits(bool(node, "individual_digits", path, false));
            case "Whitespace" -> new PreTokenizer.Whitespace();
            case "WhitespaceSplit" -> new PreTokenizer.WhitespaceSplit();
            case "Punctuation" -> new PreTokenizer.Punctuation(
                    behavior(string(node, "behavior", path, "Isolated"), path(path, "behavior")));
            case "BertPreTokenizer" -> new PreTokenizer.Bert();
            case "Sequence" -> new PreTokenizer.Sequence(
                    list(node, "pretokenizers", path, ComponentReader::preTokenizer));
            default -> throw unsupported(node, path);
        };
    }

    static PostProcessor postProcessor(JsonNode node, String path) {
        return switch (type(node, path)) {
            case "TemplateProcessing" -> template(node, path);
            case "RobertaProcessing", "BertProcessing" -> {
                JsonNode cls = array(node, "cls", path);
                JsonNode sep = array(node, "sep", path);
                yield new PostProcessor.Surround(tokenId(cls, path(path, "cls")), tokenText(cls, path(path, "cls")),
                        tokenId(sep, path(path, "sep")), tokenText(sep, path(path, "sep")));
            }
            case "ByteLevel" -> new PostProcessor.Identity();
            case "Sequence" -> new PostProcessor.Sequence(
                    list(node, "processors", path, ComponentReader::postProcessor));
            default -> throw unsupported(node, path);
        };
    }

    static Decoder decoder(JsonNode node, String path) {
        return switch (type(node, path)) {
            case "ByteLevel" -> new Decoder.ByteLevel();
            case "Metaspace" -> new Decoder.Metaspace(character(node, "replacement", path),
                    prependScheme(node, path) != PreTokenizer.Metaspace.PrependScheme.NEVER);
            case "ByteFallback" -> new Decoder.ByteFallback();
            case "Fuse" -> new Decoder.Fuse();
            case "Strip" -> new Decoder.Strip(character(node, "content", path),
                    nonNegativeInt(node, "start", path, 0), nonNegativeInt(node, "stop", path, 0));
            case "Replace" -> new Decoder.Replace(pattern(node, path), string(node, "content", path));
            case "BPEDecoder" -> new Decoder.BpeSuffix(string(node, "suffix", path, "</w>"));
            case "Sequence" -> new Decoder.Sequence(list(node, "decoders", path, ComponentReader::decoder));
            default -> throw unsupported(node, path);
        };
    }

    private static String type(JsonNode node, String path) {
        if (!node.isObject()) {
            throw new IllegalArgumentException(path + " must be an object");
        }
        return string(node, "type", path);
    }

    private static IllegalArgumentException unsupported(JsonNode node, String path) {
        return new IllegalArgumentException(path + " type '" + node.get("type").textValue() + "' is not supported");
    }

    private static <T> List<T> list(JsonNode node, String field, String path,
                                    BiFunction<JsonNode, String, T> reader) {
        JsonNode items = array(node, field, path);
        List<T> out = new ArrayList<>(items.size());
        for (int i = 0; i < items.size(); i++) {
            out.add(reader.apply(items.get(i), path(path, field) + "[" + i + "]"));
        }
        return out;
    }

    /** A {@code {"String": "..."}} or {@code {"Regex": "..."}} pattern. */
    private static TextPattern pattern(JsonNode node, String path) {
        JsonNode pattern = object(node, "pattern", path);
        String patternPath = path(path, "pattern");
        if (pattern.has("String")) {
            return new TextPattern.Literal(string(pattern, "String", patternPath));
        }
        if (pattern.has("Regex")) {
            String regex = string(pattern, "Regex", patternPath);
            try {
                return TextPattern.ofRegex(regex);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException(patternPath + ".Regex is not a regex this library can compile: "
                        + e.getDescription() + " near index " + e.getIndex() + " of " + regex, e);
            }
        }
        throw new IllegalArgumentException(patternPath + " must have a String or a Regex field");
    }

    private static SplitBehavior behavior(String name, String path) {
        try {
            return SplitBehavior.fromJson(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path + ": " + e.getMessage(), e);
        }
    }

    /** Metaspace's scheme; files from before {@code prepend_scheme} existed say {@code add_prefix_space} instead. */
    private static PreTokenizer.Metaspace.PrependScheme prependScheme(JsonNode node, String path) {
        String scheme = string(node, "prepend_scheme", path, "always");
        var parsed = switch (scheme) {
            case "always" -> PreTokenizer.Metaspace.PrependScheme.ALWAYS;
            case "first" -> PreTokenizer.Metaspace.PrependScheme.FIRST;
            case "never" -> PreTokenizer.Metaspace.PrependScheme.NEVER;
            default -> throw new IllegalArgumentException(path(path, "prepend_scheme") + " must be always, first or "
                    + "never, not '" + scheme + "'");
        };
        if (!bool(node, "add_prefix_space", path, true)) {
            if (parsed != PreTokenizer.Metaspace.PrependScheme.NEVER && node.has("prepend_scheme")) {
                throw new IllegalArgumentException(path + ": add_prefix_space false contradicts prepend_scheme '"
                        + scheme + "'");
            }
            parsed = PreTokenizer.Metaspace.PrependScheme.NEVER;
        }
        return parsed;
    }

    private static PostProcessor template(JsonNode node, String path) {
        Map<String, PostProcessor.SpecialToken> specials = new HashMap<>();
        JsonNode specialTokens = object(node, "special_tokens", path);
        specialTokens.properties().forEach(entry -> {
            String entryPath = path(path, "special_tokens") + "." + entry.getKey();
            JsonNode ids = array(entry.getValue(), "ids", entryPath);
            JsonNode tokens = array(entry.getValue(), "tokens", entryPath);
            if (ids.size() != tokens.size()) {
                throw new IllegalArgumentException(entryPath + " has " + ids.size() + " ids but " + tokens.size()
                        + " tokens");
            }
            int[] idArray = new int[ids.size()];
            List<String> tokenList = new ArrayList<>();
            for (int i = 0; i < ids.size(); i++) {
                idArray[i] = nonNegativeInt(ids.get(i), entryPath + ".ids[" + i + "]");
                tokenList.add(tokens.get(i).asText());
            }
            specials.put(entry.getKey(), new PostProcessor.SpecialToken(idArray, tokenList));
        });
        String singlePath = path(path, "single");
        JsonNode single = node.get("single");
        if (single == null || !(single.isArray() || single.isTextual())) {
            throw new IllegalArgumentException(singlePath + " is missing");
        }
        List<JsonNode> items = new ArrayList<>();
        if (single.isTextual()) {
            for (String part : single.textValue().split(" ")) {
                items.add(com.fasterxml.jackson.databind.node.TextNode.valueOf(part));
            }
        } else {
            single.forEach(items::add);
        }
        List<PostProcessor.TemplatePiece> pieces = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            pieces.add(templatePiece(items.get(i), singlePath + "[" + i + "]", specials));
        }
        return new PostProcessor.Template(pieces);
    }

    /** {@code {"Sequence": {"id": "A"}}}, {@code {"SpecialToken": {"id": "<s>"}}}, or the string forms "$A", "<s>:0". */
    private static PostProcessor.TemplatePiece templatePiece(JsonNode item, String path,
                                                             Map<String, PostProcessor.SpecialToken> specials) {
        String specialId;
        if (item.isTextual()) {
            String text = item.textValue();
            int colon = text.lastIndexOf(':');
            String id = colon > 0 && text.substring(colon + 1).chars().allMatch(Character::isDigit)
                    ? text.substring(0, colon) : text;
            if (id.startsWith("$")) {
                return new PostProcessor.TemplatePiece.Sequence();
            }
            specialId = id;
        } else if (item.has("Sequence")) {
            String sequence = string(item.get("Sequence"), "id", path + ".Sequence");
            if (!sequence.equals("A") && !sequence.equals("B")) {
                throw new IllegalArgumentException(path + ".Sequence.id must be A or B, not '" + sequence + "'");
            }
            return new PostProcessor.TemplatePiece.Sequence();
        } else if (item.has("SpecialToken")) {
            specialId = string(item.get("SpecialToken"), "id", path + ".SpecialToken");
        } else {
            throw new IllegalArgumentException(path + " must be a Sequence or a SpecialToken");
        }
        PostProcessor.SpecialToken special = specials.get(specialId);
        if (special == null) {
            throw new IllegalArgumentException(path + " names special token '" + specialId
                    + "', which special_tokens does not define");
        }
        return new PostProcessor.TemplatePiece.Special(special);
    }

    /** The id of a RoBERTa/BERT {@code ["</s>", 2]} pair. */
    private static int tokenId(JsonNode pair, String path) {
        if (pair.size() != 2) {
            throw new IllegalArgumentException(path + " must be a [token, id] pair");
        }
        return nonNegativeInt(pair.get(1), path + "[1]");
    }

    private static String tokenText(JsonNode pair, String path) {
        if (!pair.get(0).isTextual()) {
            throw new IllegalArgumentException(path + "[0] must be a string");
        }
        return pair.get(0).textValue();
    }
}
