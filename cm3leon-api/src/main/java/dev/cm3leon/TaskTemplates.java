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
 * text, and the slots {@code {text}}, {@code {image}}, {@code {image_start}} (the header of the image to be drawn:
 * begin-of-image and, where the layout has them, its size tokens) and {@code {width}}/{@code {height}} (its size in
 * pixels). With them come the family's {@link ImageLayoutSpec image layout} and its decoding defaults for image and
 * for text output. A checkpoint folder may carry its own {@code cm3leon-templates.json}; otherwise the family's
 * built-in file is used.
 *
 * @param textDefaults empty: text output is greedy
 */
public record TaskTemplates(String family, DecodingOptions.Unconditional unconditional, String documentSeparator,
                            Map<String, List<Part>> templates, Defaults imageDefaults, Optional<Defaults> textDefaults,
                            ImageLayoutSpec imageLayout) {
    public static final String FILE_NAME = "cm3leon-templates.json";
    public static final String TEXT_TO_IMAGE = "text_to_image", CAPTION = "caption", VQA = "vqa", EDIT = "edit",
            STRUCTURE = "structure", DOCUMENT = "document", UNCONDITIONAL_IMAGE = "unconditional_image";

    /** A piece of a template. */
    public sealed interface Part permits Special, Literal, TextSlot, ImageSlot, ImageStart, Width, Height {
    }

    /** A token named by its string, e.g. {@code <racm3:break>}. */
    public record Special(String token) implements Part {
    }

    /** Literal text; tokenized together with the text, width and height next to it, as one string. */
    public record Literal(String text) implements Part {
    }

    public record TextSlot() implements Part {
    }

    public record ImageSlot() implements Part {
    }

    /** The header of the image the task draws: begin-of-image, and its size tokens where the layout has them. */
    public record ImageStart() implements Part {
    }

    /** The drawn image's width in pixels, as text. */
    public record Width() implements Part {
    }

    /** The drawn image's height in pixels, as text. */
    public record Height() implements Part {
    }

    /**
     * Decoding defaults of one output modality; a null field keeps the library's own default.
     *
     * @param guidance 2-stream scale, or null
     * @param imageGuidance with {@code textGuidance}: 3-stream guidance (Meta's and Anole's image scale and text scale)
     */
    public record Defaults(Double temperature, Double topP, Integer topK, Double repetitionPenalty, Double guidance,
                           Double imageGuidance, Double textGuidance) {
        /** These defaults set on {@code o}. */
        public DecodingOptions applyTo(DecodingOptions o) {
            if (temperature != null) o.temperature(temperature);
            if (topP != null) o.topP(topP);
            if (topK != null) o.topK(topK);
            if (repetitionPenalty != null) o.repetitionPenalty(repetitionPenalty);
            if (imageGuidance != null) o.guidance(imageGuidance, textGuidance);
            else if (guidance != null) o.guidance(guidance);
            return o;
        }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            if (temperature != null) b.append("temperature ").append(temperature).append(", ");
            if (topP != null) b.append("top-p ").append(topP).append(", ");
            if (topK != null) b.append("top-k ").append(topK).append(", ");
            if (repetitionPenalty != null) b.append("repetition penalty ").append(repetitionPenalty).append(", ");
            if (imageGuidance != null) b.append("3-stream guidance image ").append(imageGuidance).append(" / text ").append(textGuidance).append(", ");
            else if (guidance != null) b.append("guidance ").append(guidance).append(", ");
            return b.isEmpty() ? "library defaults" : b.substring(0, b.length() - 2);
        }
    }

    /**
     * How images sit in the sequence, by token name (resolved against the vocabulary when the model loads).
     *
     * @param sizeTokens     the size token for 0 units (n units is the id after it by n), or null: no size tokens
     * @param sizeUnitPixels pixels per size unit
     * @param maxSizeUnits   the largest size a size token may state
     * @param rowSeparator   the token after each row of codes, or null
     * @param imageSize      default width and height in pixels, or null: the VQ-GAN's resolution
     */
    public record ImageLayoutSpec(String sizeTokens, int sizeUnitPixels, int maxSizeUnits, String rowSeparator,
                                  int[] imageSize) {
        public static final ImageLayoutSpec CHAMELEON = new ImageLayoutSpec(null, 0, 0, null, null);

        @Override
        public String toString() {
            return "begin-of-image" + (sizeTokens == null ? "" : ", height and width tokens (" + sizeTokens + " + units of "
                    + sizeUnitPixels + " px, at most " + maxSizeUnits + ")") + ", codes row by row"
                    + (rowSeparator == null ? "" : " each followed by " + rowSeparator) + ", end-of-image"
                    + (imageSize == null ? "" : "; default " + imageSize[0] + "x" + imageSize[1] + " px");
        }
    }

    private static final Pattern PIECE = Pattern.compile("\\{text}|\\{image}|\\{image_start}|\\{width}|\\{height}|<[^<>\\s]+>");

    public List<Part> template(String task) {
        List<Part> t = templates.get(task);
        if (t == null) throw new InvalidRequestException("the " + family + " templates have no '" + task + "' task");
        return t;
    }

    public boolean has(String task) {
        return templates.containsKey(task);
    }

    /**
     * Lumina-mGPT's checkpoints are one architecture trained at one image size each, named in the repository
     * ({@code Lumina-mGPT-7B-512}, {@code -768}, {@code -1024}, {@code -768-Omni}) and nowhere in its files.
     */
    private static final Pattern TRAINED_SIZE = Pattern.compile("(?i).*-(512|768|1024)(-omni)?");

    /** These templates with another default image size. */
    public TaskTemplates withImageSize(int width, int height) {
        ImageLayoutSpec l = imageLayout;
        return new TaskTemplates(family, unconditional, documentSeparator, templates, imageDefaults, textDefaults,
                new ImageLayoutSpec(l.sizeTokens(), l.sizeUnitPixels(), l.maxSizeUnits(), l.rowSeparator(), new int[]{width, height}));
    }

    /**
     * The folder's own templates if present, else the built-in ones of the checkpoint's family; for a family with size
     * tokens, a folder named as its download ({@code …-512}) sets the default image size it was trained at.
     */
    public static TaskTemplates forCheckpoint(Path folder, String family) {
        Path own = folder.resolve(FILE_NAME);
        if (Files.isRegularFile(own)) {
            try (InputStream in = Files.newInputStream(own)) {
                return parse(in, own.toString());
            } catch (IOException e) {
                throw CheckpointException.of(own, "cannot read: " + e.getMessage());
            }
        }
        TaskTemplates t = builtIn(family).orElseGet(() -> builtIn("chameleon").orElseThrow());
        Path name = folder.toAbsolutePath().normalize().getFileName();
        Matcher trained = name == null ? null : TRAINED_SIZE.matcher(name.toString());
        if (t.imageLayout().sizeTokens() != null && trained != null && trained.matches()) {
            int side = Integer.parseInt(trained.group(1));
            t = t.withImageSize(side, side);
        }
        return t;
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
        Defaults image = defaults(root, "image_defaults", source);
        if (image.guidance() == null && image.imageGuidance() == null) {
            image = new Defaults(image.temperature(), image.topP(), image.topK(), image.repetitionPenalty(), 3.0, null, null);
        }
        if (image.topP() == null && image.topK() == null) {
            image = new Defaults(image.temperature(), 0.9, null, image.repetitionPenalty(), image.guidance(),
                    image.imageGuidance(), image.textGuidance());
        }
        Optional<Defaults> text = root.has("text_defaults") ? Optional.of(defaults(root, "text_defaults", source)) : Optional.empty();
        return new TaskTemplates(root.path("family").asText("custom"), u, root.path("document_separator").asText("<reserved08706>"),
                Map.copyOf(map), image, text, layoutSpec(root, source));
    }

    private static Defaults defaults(JsonNode root, String field, String source) {
        JsonNode d = root.path(field);
        if (d.isMissingNode()) return new Defaults(null, null, null, null, null, null, null);
        if (!d.isObject()) throw new CheckpointException(source + ": field '" + field + "' must be an object");
        Double temperature = number(d, field, "temperature", source, v -> v > 0, "> 0");
        Double topP = number(d, field, "top_p", source, v -> v > 0 && v <= 1, "in (0, 1]");
        Double topK = number(d, field, "top_k", source, v -> v >= 1 && v == Math.rint(v), "a whole number ≥ 1");
        Double penalty = number(d, field, "repetition_penalty", source, v -> v > 0, "> 0");
        Double guidance = null, imageScale = null, textScale = null;
        JsonNode g = d.get("guidance");
        if (g != null && g.isObject()) {
            imageScale = number(g, field + ".guidance", "image", source, Double::isFinite, "finite");
            textScale = number(g, field + ".guidance", "text", source, Double::isFinite, "finite");
            if (imageScale == null || textScale == null) {
                throw new CheckpointException(source + ": " + field + ".guidance must give both 'image' and 'text' scales (3-stream guidance)");
            }
        } else {
            guidance = number(d, field, "guidance", source, Double::isFinite, "finite");
        }
        return new Defaults(temperature, topP, topK == null ? null : topK.intValue(), penalty, guidance, imageScale, textScale);
    }

    private static Double number(JsonNode object, String where, String name, String source,
                                 java.util.function.DoublePredicate valid, String expected) {
        JsonNode v = object.get(name);
        if (v == null || v.isNull()) return null;
        if (!v.isNumber() || !valid.test(v.asDouble())) {
            throw new CheckpointException(source + ": " + where + "." + name + " must be a number " + expected + ", found " + v);
        }
        return v.asDouble();
    }

    private static ImageLayoutSpec layoutSpec(JsonNode root, String source) {
        JsonNode l = root.get("image_layout");
        if (l == null) return ImageLayoutSpec.CHAMELEON;
        if (!l.isObject()) throw new CheckpointException(source + ": field 'image_layout' must be an object");
        String sizeTokens = text(l, "size_tokens", source), separator = text(l, "row_separator", source);
        int unit = 0, max = 0;
        if (sizeTokens != null) {
            unit = positiveInt(l, "size_unit_pixels", source);
            max = positiveInt(l, "max_size_units", source);
        }
        int[] size = null;
        JsonNode s = l.get("image_size");
        if (s != null) {
            if (!s.isArray() || s.size() != 2 || !s.get(0).canConvertToInt() || !s.get(1).canConvertToInt()
                    || s.get(0).asInt() < 1 || s.get(1).asInt() < 1) {
                throw new CheckpointException(source + ": image_layout.image_size must be [width, height] in pixels, found " + s);
            }
            size = new int[]{s.get(0).asInt(), s.get(1).asInt()};
        }
        return new ImageLayoutSpec(sizeTokens, unit, max, separator, size);
    }

    private static String text(JsonNode o, String field, String source) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw new CheckpointException(source + ": image_layout." + field + " must be a token name, found " + v);
        return v.asText();
    }

    private static int positiveInt(JsonNode o, String field, String source) {
        JsonNode v = o.get(field);
        if (v == null || !v.canConvertToInt() || v.asInt() < 1) {
            throw new CheckpointException(source + ": image_layout." + field + " must be a positive integer (size tokens need it), found " + v);
        }
        return v.asInt();
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
                case "{image_start}" -> new ImageStart();
                case "{width}" -> new Width();
                case "{height}" -> new Height();
                default -> new Special(g);
            });
            last = m.end();
        }
        if (last < t.length()) parts.add(new Literal(t.substring(last)));
        return List.copyOf(parts);
    }
}
