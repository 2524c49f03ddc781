package dev.cm3leon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.decode.DecodingOptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Task layouts of a checkpoint family, as data: each task is a template of special tokens ({@code <s>}), literal
 * text, and the slots {@code {text}} and {@code {image}}. A checkpoint folder may carry its own
 * {@code cm3leon-templates.json}; otherwise the family's built-in file is used.
 */
public record TaskTemplates(String family, DecodingOptions.Unconditional unconditional, String documentSeparator,
                            Map<String, List<Part>> templates, double defaultGuidance, double defaultTemperature,
                            double defaultTopP) {
    public static final String FILE_NAME = "cm3leon-templates.json";
    public static final String TEXT_TO_IMAGE = "text_to_image", CAPTION = "caption", VQA = "vqa", EDIT = "edit",
            STRUCTURE = "structure", DOCUMENT = "document";

    /** A piece of a template. */
    public sealed interface Part permits Special, Literal, TextSlot, ImageSlot {
    }

    /** A token named by its string, e.g. {@code <racm3:break>}. */
    public record Special(String token) implements Part {
    }

    /** Literal text, tokenized as it is. */
    public record Literal(String text) implements Part {
    }

    public record TextSlot() implements Part {
    }

    public record ImageSlot() implements Part {
    }

    private static final Pattern PIECE = Pattern.compile("\\{text}|\\{image}|<[^<>\\s]+>");

    public List<Part> template(String task) {
        List<Part> t = templates.get(task);
        if (t == null) throw new InvalidRequestException("the " + family + " templates have no '" + task + "' task");
        return t;
    }

    public boolean has(String task) {
        return templates.containsKey(task);
    }

    /** The folder's own templates if present, else the built-in ones of the config's family. */
    public static TaskTemplates forCheckpoint(Path folder, String modelType) {
        Path own = folder.resolve(FILE_NAME);
        if (Files.isRegularFile(own)) {
            try (InputStream in = Files.newInputStream(own)) {
                return parse(in, own.toString());
            } catch (IOException e) {
                throw CheckpointException.of(own, "cannot read: " + e.getMessage());
            }
        }
        return builtIn(modelType).orElseGet(() -> builtIn("chameleon").orElseThrow());
    }

    public static Optional<TaskTemplates> builtIn(String family) {
        InputStream in = TaskTemplates.class.getResourceAsStream("templates/" + family + ".json");
        if (in == null) return Optional.empty();
        try (in) {
            return Optional.of(parse(in, "built-in templates/" + family + ".json"));
        } catch (IOException e) {
            throw new CheckpointException("cannot read built-in templates for " + family + ": " + e.getMessage(), e);
        }
    }

    static TaskTemplates parse(InputStream in, String source) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new CheckpointException(source + ": not well-formed JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) throw new CheckpointException(source + ": must hold a JSON object");
        JsonNode ts = root.get("templates");
        if (ts == null || !ts.isObject()) throw new CheckpointException(source + ": field 'templates' must be an object");
        Map<String, List<Part>> map = new LinkedHashMap<>();
        ts.properties().forEach(e -> {
            if (!e.getValue().isTextual()) throw new CheckpointException(source + ": templates." + e.getKey() + " must be a string");
            map.put(e.getKey(), parseTemplate(e.getValue().asText()));
        });
        String uncond = root.path("unconditional").asText("bare_begin_of_image");
        DecodingOptions.Unconditional u = switch (uncond) {
            case "bare_begin_of_image" -> DecodingOptions.Unconditional.BARE_BEGIN_OF_IMAGE;
            case "masked_text" -> DecodingOptions.Unconditional.MASKED_TEXT;
            default -> throw new CheckpointException(source + ": field 'unconditional' must be bare_begin_of_image or masked_text, found '" + uncond + "'");
        };
        JsonNode d = root.path("image_defaults");
        double guidance = d.path("guidance").asDouble(3.0), temperature = d.path("temperature").asDouble(1.0),
                topP = d.path("top_p").asDouble(0.9);
        if (!Double.isFinite(guidance) || !(temperature > 0) || !(topP > 0 && topP <= 1)) {
            throw new CheckpointException(source + ": image_defaults must have a finite guidance, temperature > 0 and top_p in (0, 1]");
        }
        return new TaskTemplates(root.path("family").asText("custom"), u, root.path("document_separator").asText("<reserved08706>"),
                Map.copyOf(map), guidance, temperature, topP);
    }

    static List<Part> parseTemplate(String t) {
        List<Part> parts = new ArrayList<>();
        Matcher m = PIECE.matcher(t);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) parts.add(new Literal(t.substring(last, m.start())));
            String g = m.group();
            parts.add(switch (g) {
                case "{text}" -> new TextSlot();
                case "{image}" -> new ImageSlot();
                default -> new Special(g);
            });
            last = m.end();
        }
        if (last < t.length()) parts.add(new Literal(t.substring(last)));
        return List.copyOf(parts);
    }
}
