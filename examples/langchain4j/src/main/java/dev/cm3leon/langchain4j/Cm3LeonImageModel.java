package dev.cm3leon.langchain4j;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedImage;
import dev.cm3leon.GeneratedInfill;
import dev.cm3leon.Prompt;
import dev.cm3leon.TextToImageRequest;
import dev.cm3leon.Timings;
import dev.cm3leon.decode.Scorer;
import dev.cm3leon.engine.EngineOptions;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.model.image.ImageModel;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A LangChain4j {@link ImageModel} on a cm3leon checkpoint: text→image, N samples in one batch (best first when a
 * scorer ranks them), instruction edits, and masked edits as CM3 infilling of the masked cells.
 *
 * <p>Images come back as PNG base64; {@link Response#metadata()} holds the seed (so any result can be drawn again),
 * the score where one was computed, and the timings. Thread-safe: calls are independent requests on one model.
 * Closing it closes a model it loaded itself ({@link Builder#modelPath}), never one handed in ({@link Builder#model}).
 */
public final class Cm3LeonImageModel implements ImageModel, AutoCloseable {
    /** Metadata keys of every response. */
    public static final String SEED = "seed", SCORE = "score", SCORES = "scores", PREFILL_MILLIS = "prefillMillis",
            DECODE_MILLIS = "decodeMillis", STEPS = "steps";

    private final ModelLease lease;
    private final DecodingSettings decoding;
    private final Scorer scorer;
    private final int[] size;
    private final int samplesLimit;

    private Cm3LeonImageModel(Builder b) {
        if (b.samplesLimit < 1) throw new IllegalArgumentException("maxSamples must be ≥ 1, got " + b.samplesLimit);
        this.decoding = b.decoding;
        this.scorer = b.scorer;
        this.size = b.size;
        this.samplesLimit = b.samplesLimit;
        this.lease = ModelLease.of(b.model, b.modelPath, b.engineOptions, "Cm3LeonImageModel");
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public Response<Image> generate(String prompt) {
        requirePrompt(prompt);
        long seed = decoding.seedForCall();
        GeneratedImage out = textToImage(prompt, seed).generate();
        return response(Images.toLangChain4j(out.image()), out.tokens().length, seed, out.timings(), scoreMap(out.score()));
    }

    /**
     * {@code n} samples of one prompt, decoded together (one pass over the weights per step serves all of them).
     * With a scorer (the builder's, else the checkpoint's CLIP when it ships one) they come best first and the
     * metadata lists their scores in that order; without, in the order they were drawn.
     */
    @Override
    public Response<List<Image>> generate(String prompt, int n) {
        requirePrompt(prompt);
        if (n < 1 || n > samplesLimit) throw new IllegalArgumentException("n must be in [1, " + samplesLimit + "], got " + n);
        long seed = decoding.seedForCall();
        GeneratedImage out = textToImage(prompt, seed).samples(n).generate();
        List<GeneratedImage.Sample> ranked = new ArrayList<>(out.samples());
        boolean scored = ranked.stream().noneMatch(s -> Double.isNaN(s.score()));
        if (scored) ranked.sort(Comparator.comparingDouble(GeneratedImage.Sample::score).reversed());
        Map<String, Object> extra = new LinkedHashMap<>();
        if (scored) extra.put(SCORES, ranked.stream().map(GeneratedImage.Sample::score).toList());
        int tokens = ranked.stream().mapToInt(s -> s.tokens().length).sum();
        List<Image> images = ranked.stream().map(s -> Images.toLangChain4j(s.image())).toList();
        return response(images, tokens, seed, out.timings(), extra);
    }

    /** The image redrawn as the instruction says (the checkpoint's edit task, with its guidance). */
    @Override
    public Response<Image> edit(Image image, String prompt) {
        requirePrompt(prompt);
        BufferedImage source = Images.read(image, "the image to edit");
        long seed = decoding.seedForCall();
        GeneratedImage out = decoding.applyTo(lease.model().edit(source, prompt), seed).generate();
        return response(Images.toLangChain4j(out.image()), out.tokens().length, seed, out.timings(), scoreMap(out.score()));
    }

    /**
     * The masked part of the image regenerated to fit the prompt: the cells of the image's token grid that the mask
     * covers (its transparent pixels, or the white ones of a black-and-white mask; see {@link MaskRegion}) are infilled,
     * the others kept. An empty prompt infills from the image alone. Infilling runs without guidance.
     */
    @Override
    public Response<Image> edit(Image image, Image mask, String prompt) {
        BufferedImage source = Images.read(image, "the image to edit");
        BufferedImage maskPixels = Images.read(mask, "the mask");
        Cm3Leon model = lease.model();
        var grid = model.format().imageLayout().bucketFor(source.getWidth(), source.getHeight());
        Prompt.GridRegion region = MaskRegion.of(maskPixels, grid);
        int runs = region.y1() - region.y0(), sentinels = model.format().vocabulary().sentinels().length;
        if (runs > sentinels) {
            // each masked row is one infilled span, and each span needs a sentinel of its own
            throw new IllegalArgumentException("the mask covers " + runs + " rows of the image's " + grid.rows() + "x" + grid.cols()
                    + " token grid; this checkpoint infills at most " + sentinels + " (one sentinel per row): mask fewer rows");
        }
        Prompt.Image masked = new Prompt.Image(source, region);
        Prompt infill = prompt == null || prompt.isBlank() ? Prompt.of(masked) : Prompt.of(prompt, masked);
        long seed = decoding.seedForCall();
        GeneratedInfill out = decoding.applySampling(model.infill(infill), seed).generate();
        BufferedImage filled = out.filled().segments().stream()
                .filter(s -> s instanceof Prompt.Image).map(s -> ((Prompt.Image) s).image())
                .findFirst().orElseThrow(() -> new IllegalStateException("the infilled prompt has no image"));
        int tokens = out.spans().stream().mapToInt(s -> s.tokens().length).sum();
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("region", List.of(region.x0(), region.y0(), region.x1(), region.y1()));
        return response(Images.toLangChain4j(filled), tokens, seed, out.timings(), extra);
    }

    /** Releases the model if this adapter loaded it; calls afterwards fail with an {@link IllegalStateException}. */
    @Override
    public void close() {
        lease.close();
    }

    private TextToImageRequest textToImage(String prompt, long seed) {
        TextToImageRequest r = decoding.applyTo(lease.model().textToImage(prompt), seed);
        if (size != null) r.size(size[0], size[1]);
        if (scorer != null) r.rerankBy(scorer);
        return r;
    }

    private static void requirePrompt(String prompt) {
        if (prompt == null || prompt.isBlank()) throw new IllegalArgumentException("the prompt is empty");
    }

    private static Map<String, Object> scoreMap(double score) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (!Double.isNaN(score)) m.put(SCORE, score);
        return m;
    }

    private static <T> Response<T> response(T content, int outputTokens, long seed, Timings timings, Map<String, Object> extra) {
        Map<String, Object> metadata = new LinkedHashMap<>();
        metadata.put(SEED, seed);
        metadata.putAll(extra);
        metadata.put(PREFILL_MILLIS, timings.prefill().toMillis());
        metadata.put(DECODE_MILLIS, timings.decode().toMillis());
        metadata.put(STEPS, timings.steps());
        return Response.from(content, new TokenUsage(null, outputTokens), FinishReason.STOP, metadata);
    }

    /** LangChain4j-style builder; every decoding parameter left unset keeps the checkpoint family's default. */
    public static final class Builder {
        private Path modelPath;
        private Cm3Leon model;
        private EngineOptions engineOptions;
        private DecodingSettings decoding = DecodingSettings.FAMILY_DEFAULTS;
        private Scorer scorer;
        private int[] size;
        private int samplesLimit = 64;

        private Builder() {
        }

        /** A checkpoint folder to load (and close with the adapter). */
        public Builder modelPath(Path folder) {
            this.modelPath = folder;
            return this;
        }

        /** A model the application already loaded and keeps open; the adapter does not close it. */
        public Builder model(Cm3Leon model) {
            this.model = model;
            return this;
        }

        public Builder engineOptions(EngineOptions options) {
            this.engineOptions = options;
            return this;
        }

        /** Classifier-free guidance scale; 1 turns guidance off. */
        public Builder guidance(Double scale) {
            decoding = decoding.withGuidance(scale);
            return this;
        }

        /** Temperature; 0 is greedy. */
        public Builder temperature(Double t) {
            decoding = decoding.withTemperature(t);
            return this;
        }

        public Builder topP(Double p) {
            decoding = decoding.withTopP(p);
            return this;
        }

        public Builder topK(Integer k) {
            decoding = decoding.withTopK(k);
            return this;
        }

        /** A fixed seed: the same prompt gives the same image on every call. Unset, each call draws one. */
        public Builder seed(Long seed) {
            decoding = decoding.withSeed(seed);
            return this;
        }

        /** Re-ranks {@code generate(prompt, n)}'s samples (default: the checkpoint's CLIP, when it has one). */
        public Builder scorer(Scorer scorer) {
            this.scorer = scorer;
            return this;
        }

        /** Image size in pixels, for checkpoints whose layout states sizes (Lumina-mGPT). */
        public Builder size(int width, int height) {
            this.size = new int[]{width, height};
            return this;
        }

        /** Upper bound on {@code n} in {@code generate(prompt, n)}: all samples share one batch (default 64). */
        public Builder maxSamples(int n) {
            this.samplesLimit = n;
            return this;
        }

        public Cm3LeonImageModel build() {
            return new Cm3LeonImageModel(this);
        }
    }
}
