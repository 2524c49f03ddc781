package dev.cm3leon.service;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.GeneratedImage;
import dev.cm3leon.GeneratedInfill;
import dev.cm3leon.Prompt;
import dev.cm3leon.TextToImageRequest;

import java.awt.image.BufferedImage;
import java.util.Optional;
import java.util.function.Function;

/**
 * {@code POST /v1/images/generations} (JSON) and {@code POST /v1/images/edits} (multipart), answered as OpenAI's
 * images API answers: {@code {"created", "data": [{"b64_json"}]}}. Besides OpenAI's fields ({@code prompt},
 * {@code n}, {@code size}, {@code response_format}) they read the library's: {@code seed}, {@code guidance},
 * {@code temperature}, {@code top_p}, as top-level fields (what OpenAI's SDKs send as extra body properties).
 */
final class ImagesEndpoints {
    private final Served served;

    ImagesEndpoints(Served served) {
        this.served = served;
    }

    /** The size every image of the served model has, as OpenAI writes it ({@code "32x32"}). */
    String size() {
        int s = served.model().vq().orElseThrow().config().resolution();
        return s + "x" + s;
    }

    byte[] generations(JsonRequest json) {
        served.checkModel(json.text("model"));
        String prompt = json.requiredText("prompt");
        if (prompt.isBlank()) throw ApiException.invalid("prompt", "'prompt' is empty");
        int n = json.integer("n", 1, 1, served.options().maxImages());
        checkSizeAndFormat(json.text("size"), json.text("response_format"));
        Options extras = new Options(json.longInteger("seed"), json.number("guidance", 1.0, 100.0),
                json.number("temperature", 0.0, 10.0), json.number("top_p", 0.0, 1.0));
        return respond(start -> {
            TextToImageRequest r = extras.apply(served.model().textToImage(prompt)).samples(n).deadline(served.remaining(start));
            return images(r.generate());
        });
    }

    /**
     * An edit without a mask is the model's instruction edit of the whole image; with a mask (a PNG whose
     * transparent pixels mark what to change, as OpenAI's), the grid cells under the mask's transparent bounding box
     * are infilled.
     */
    byte[] edits(Multipart form) {
        served.checkModel(form.text("model"));
        String prompt = form.text("prompt").orElseThrow(() -> ApiException.invalid("prompt", "'prompt' is required"));
        if (prompt.isBlank()) throw ApiException.invalid("prompt", "'prompt' is empty");
        byte[] imageBytes = form.part("image", "image[]").orElseThrow(() -> ApiException.invalid("image", "'image' is required"))
                .content();
        checkSizeAndFormat(form.text("size"), form.text("response_format"));
        int n = form.text("n").map(v -> parseInt("n", v, 1, served.options().maxImages())).orElse(1);
        Optional<Long> seed = form.text("seed").map(v -> (long) parseInt("seed", v, 0, Integer.MAX_VALUE));
        BufferedImage image = served.image(imageBytes, "image");
        Optional<BufferedImage> mask = form.part("mask").map(p -> served.image(p.content(), "mask"));
        return respond(start -> {
            if (mask.isEmpty()) {
                TextToImageRequest r = served.model().edit(image, prompt).samples(n).deadline(served.remaining(start));
                seed.ifPresent(r::seed);
                return images(r.generate());
            }
            Prompt.Image region = maskedRegion(image, mask.get());
            ArrayNode data = JsonRequest.MAPPER.createArrayNode();
            for (int i = 0; i < n; i++) {
                GeneratedInfill filled = served.model().infill(Prompt.of(prompt, region)).deadline(served.remaining(start))
                        .topP(0.9).seed(seed.orElse(0L) + i).generate();
                served.metrics().tokens(filled.spans().stream().mapToInt(sp -> sp.tokens().length).sum());
                BufferedImage out = filled.filled().segments().stream().filter(s -> s instanceof Prompt.Image)
                        .map(s -> ((Prompt.Image) s).image()).findFirst().orElseThrow();
                data.addObject().put("b64_json", Served.base64Png(out));
            }
            return data;
        });
    }

    /** The image's grid cells under the bounding box of the mask's transparent pixels. */
    private Prompt.Image maskedRegion(BufferedImage image, BufferedImage mask) {
        int grid = served.model().imageCodec().orElseThrow().gridSize();
        int x0 = Integer.MAX_VALUE, y0 = Integer.MAX_VALUE, x1 = -1, y1 = -1;
        for (int y = 0; y < mask.getHeight(); y++) {
            for (int x = 0; x < mask.getWidth(); x++) {
                if ((mask.getRGB(x, y) >>> 24) != 0) continue;
                x0 = Math.min(x0, x);
                y0 = Math.min(y0, y);
                x1 = Math.max(x1, x);
                y1 = Math.max(y1, y);
            }
        }
        if (x1 < 0) throw ApiException.invalid("mask", "the mask has no transparent pixels, so nothing is to be edited");
        int cx0 = x0 * grid / mask.getWidth(), cy0 = y0 * grid / mask.getHeight();
        int cx1 = Math.min(grid, x1 * grid / mask.getWidth() + 1), cy1 = Math.min(grid, y1 * grid / mask.getHeight() + 1);
        return Prompt.maskedImage(image, cx0, cy0, cx1, cy1);
    }

    private void checkSizeAndFormat(Optional<String> size, Optional<String> format) {
        size.filter(s -> !s.equals("auto") && !s.equals(size())).ifPresent(s -> {
            throw ApiException.invalid("size", "this model draws " + size() + " images only, not " + s);
        });
        format.filter(f -> !f.equals("b64_json")).ifPresent(f -> {
            throw ApiException.invalid("response_format", "only 'b64_json' is supported: the service keeps no image files to link to");
        });
    }

    private static int parseInt(String field, String value, int min, int max) {
        try {
            int i = Integer.parseInt(value.trim());
            if (i < min || i > max) throw ApiException.invalid(field, "'" + field + "' must be between " + min + " and " + max + ", got " + i);
            return i;
        } catch (NumberFormatException e) {
            throw ApiException.invalid(field, "'" + field + "' must be an integer, got '" + value + "'");
        }
    }

    private ArrayNode images(GeneratedImage generated) {
        ArrayNode data = JsonRequest.MAPPER.createArrayNode();
        for (GeneratedImage.Sample s : generated.samples()) {
            served.metrics().tokens(s.tokens().length);
            data.addObject().put("b64_json", Served.base64Png(s.image()));
        }
        return data;
    }

    /** Runs {@code work} holding a place in the model, and wraps its data as OpenAI's images response. */
    private byte[] respond(Function<Long, ArrayNode> work) {
        long start = System.nanoTime();
        try (Admission.Ticket ignored = served.admit()) {
            ArrayNode data = work.apply(start);
            ObjectNode out = JsonRequest.MAPPER.createObjectNode();
            out.put("created", System.currentTimeMillis() / 1000);
            out.set("data", data);
            return OpenAiServer.json(out);
        }
    }

    /** The library's decoding extensions a request may set. */
    record Options(Optional<Long> seed, Optional<Double> guidance, Optional<Double> temperature, Optional<Double> topP) {
        TextToImageRequest apply(TextToImageRequest r) {
            seed.ifPresent(r::seed);
            guidance.ifPresent(r::guidance);
            temperature.ifPresent(r::temperature);
            topP.ifPresent(r::topP);
            return r;
        }
    }
}
