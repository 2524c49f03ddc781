package dev.cm3leon;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.CheckpointFolder;
import dev.cm3leon.checkpoint.MetaCheckpoint;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SpecialTokens;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.checkpoint.VocabularyMap;
import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.checkpoint.VqGanFiles;
import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.GenerationLoop;
import dev.cm3leon.decode.ImageTokenSuppression;
import dev.cm3leon.decode.ModalityState;
import dev.cm3leon.engine.Backend;
import dev.cm3leon.engine.Backends;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.tokenizer.TextTokenizer;
import dev.cm3leon.vq.FeatureMap;
import dev.cm3leon.vq.ImagePlaceholders;
import dev.cm3leon.vq.ImagePreprocessor;
import dev.cm3leon.vq.VqException;
import dev.cm3leon.vq.VqGan;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A loaded CM3Leon-family checkpoint (HF Chameleon format): weights memory-mapped in their stored dtype, an engine
 * on the best available backend. Thread-safe; every request keeps its own state. Close it to unmap the weights.
 */
public final class Cm3Leon implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Cm3Leon.class);

    private final Path folder;
    private final ModelConfig config;
    private final TensorSource checkpoint;
    private final SpecialTokens special;
    private final VqGanFiles vqFiles;
    private final Engine engine;
    private final Optional<ImageTokenSuppression> suppression;
    private final SequenceFormat format;
    private final Optional<TextTokenizer> tokenizer;
    private final GenerationLoop loop;
    private volatile ExecutorService executor;
    private final Object imageLock = new Object();
    private volatile VqGan vq;
    private volatile ImagePreprocessor imagePreprocessor;
    private volatile Optional<dev.cm3leon.retrieval.ClipEmbedder> clip;

    private Cm3Leon(Path folder, ModelConfig config, TensorSource checkpoint, SpecialTokens special, VqGanFiles vqFiles,
                    Engine engine, Optional<TextTokenizer> tokenizer, Optional<ImageCodec> codec, String family,
                    GenerationLoop.Limits limits) {
        this.folder = folder;
        this.loop = new GenerationLoop(engine, limits);
        this.vqFiles = vqFiles;
        this.special = special;
        this.config = config;
        this.checkpoint = checkpoint;
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.suppression = config.vocabulary().filter(v -> v.imageTokenCount() > 0).map(ImageTokenSuppression::new);
        VocabularyMap vocabulary = config.vocabulary().orElseGet(() -> VocabularyMap.of(Map.of(), config.vocabSize(), folder));
        Optional<ImageCodec> images = codec.isPresent() || config.vq().isEmpty() ? codec
                : Optional.of(new VqImageCodec(this::requireVq, this::imagePreprocessor));
        this.format = new SequenceFormat(vocabulary, tokenizer, images, config.bosId(),
                TaskTemplates.forCheckpoint(folder, family), config.maxPositions());
    }

    public static Cm3Leon load(Path folder) {
        return load(folder, EngineOptions.defaults());
    }

    /**
     * Loads a checkpoint folder in any layout {@link CheckpointFolder#detect} knows: HF Chameleon, or Meta's original
     * release (its root or its {@code models/<size>} folder).
     */
    public static Cm3Leon load(Path folder, EngineOptions options) {
        CheckpointFolder found = CheckpointFolder.detect(folder);
        VqGanFiles vqFiles = found.vqGan(options.vqGan());
        CheckpointFolder.Opened opened = found.open(vqFiles);
        ModelConfig config = opened.config();
        TensorSource checkpoint = opened.weights();
        try {
            DecoderWeights weights = DecoderWeights.from(checkpoint, config);
            Optional<TextTokenizer> tokenizer = found.tokenizer().map(TextTokenizer::load);
            Backend backend = Backends.select(options, config);
            Engine engine = backend.open(weights, options);
            LOG.debug("loaded {} ({}): {} layers, hidden {}, vocab {}, {} backend", folder, found.layout(), config.numLayers(),
                    config.hiddenSize(), config.vocabSize(), engine.backendName());
            return new Cm3Leon(folder, config, checkpoint, opened.special(), vqFiles, engine, tokenizer, Optional.empty(),
                    opened.family(), GenerationLoop.Limits.of(options));
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    /** Assembles a model from parts (tests and embedders that bring their own tokenizer or image codec). */
    static Cm3Leon assemble(Path folder, ModelConfig config, TensorSource checkpoint, Engine engine,
                            Optional<TextTokenizer> tokenizer, Optional<ImageCodec> codec) {
        return new Cm3Leon(folder, config, checkpoint, SpecialTokens.of(config), VqGanFiles.find(List.of(folder), null), engine,
                tokenizer, codec, config.modelType(), GenerationLoop.Limits.of(EngineOptions.defaults()));
    }

    public Path folder() {
        return folder;
    }

    public ModelConfig config() {
        return config;
    }

    /**
     * The special ids as the tokenizer gives them, and the ids that end a generated answer ({@code eos_token_id},
     * every one of a list, and the family's turn-end token).
     */
    public SpecialTokens specialTokens() {
        return special;
    }

    public Engine engine() {
        return engine;
    }

    /**
     * Where every request of this model decodes: one engine pass per step for the streams of all running requests
     * (continuous batching). Its {@link GenerationLoop#stats} tell how many wait and run.
     */
    public GenerationLoop generationLoop() {
        return loop;
    }

    /** The decoder's tensors under HF's names, whatever the folder's layout. */
    public TensorSource checkpoint() {
        return checkpoint;
    }

    /** The text tokenizer, when the folder has a {@code tokenizer.json}. */
    public Optional<TextTokenizer> tokenizer() {
        return tokenizer;
    }

    /** The image tokenizer, when the checkpoint has one. */
    public Optional<ImageCodec> imageCodec() {
        return format.hasImages() ? Optional.of(format.codec()) : Optional.empty();
    }

    /** How prompts become token ids for this checkpoint. */
    public SequenceFormat format() {
        return format;
    }

    // ---- requests -----------------------------------------------------------------------------------------------

    /** The family's image decoding defaults (its templates file's {@code image_defaults}). */
    private DecodingOptions imageDefaults() {
        return format.templates().imageDefaults().applyTo(new DecodingOptions());
    }

    /** The family's text decoding defaults ({@code text_defaults}); greedy where it states none. */
    private DecodingOptions textDefaults() {
        return format.templates().textDefaults().map(d -> d.applyTo(new DecodingOptions())).orElseGet(Cm3Leon::greedyDefaults);
    }

    private static DecodingOptions greedyDefaults() {
        return new DecodingOptions().greedy(true);
    }

    /** Draw an image from a text prompt. */
    public TextToImageRequest textToImage(String prompt) {
        if (prompt == null) throw new InvalidRequestException("the prompt is null");
        return new TextToImageRequest(this, TaskTemplates.TEXT_TO_IMAGE, prompt, null, imageDefaults());
    }

    /**
     * Caption an image; {@code .prompt(question)} asks a question about it instead. Decoded with the family's text
     * defaults (Chameleon: Meta's temperature 0.7, top-p 0.9, repetition penalty 1.2), greedy where it has none.
     */
    public ImageToTextRequest imageToText(BufferedImage image) {
        return new ImageToTextRequest(this, image, textDefaults());
    }

    public ImageToTextRequest caption(BufferedImage image) {
        return imageToText(image);
    }

    public ImageToTextRequest vqa(BufferedImage image, String question) {
        return imageToText(image).prompt(question);
    }

    /** Edit an image by an instruction; 3-stream guidance, image scale 1.5 and text scale 7.5 by default (the paper). */
    public TextToImageRequest edit(BufferedImage image, String instruction) {
        if (image == null) throw new InvalidRequestException("the image is null");
        if (instruction == null || instruction.isBlank()) throw new InvalidRequestException("the instruction is empty");
        return new TextToImageRequest(this, TaskTemplates.EDIT, instruction, image, imageDefaults().guidance(1.5, 7.5));
    }

    /** Generate an image that follows a control image's structure (CFG 3 by default). */
    public TextToImageRequest structureGuided(BufferedImage control, String prompt) {
        if (control == null) throw new InvalidRequestException("the control image is null");
        return new TextToImageRequest(this, TaskTemplates.STRUCTURE, prompt, control, imageDefaults().guidance(3.0));
    }

    /** Fill the prompt's masks (text spans or image regions) with CM3 infilling. Greedy by default. */
    public InfillRequest infill(Prompt prompt) {
        return new InfillRequest(this, prompt, greedyDefaults());
    }

    /** Continue a mixed-modal prompt with interleaved text and images. */
    public InterleavedRequest generate(Prompt prompt) {
        return new InterleavedRequest(this, prompt, new DecodingOptions().topP(0.9));
    }

    /** The folder of the CLIP model that ships with the checkpoint ({@code clip/}), if any. */
    public static final String CLIP_FOLDER = "clip";

    /**
     * The CLIP bi-encoder shipped beside the checkpoint ({@code clip/}), loaded on first use; it embeds retrieval
     * queries and is the default re-ranking {@link dev.cm3leon.decode.Scorer}.
     */
    public Optional<dev.cm3leon.retrieval.ClipEmbedder> clip() {
        Optional<dev.cm3leon.retrieval.ClipEmbedder> c = clip;
        if (c == null) {
            synchronized (imageLock) {
                if (clip == null) {
                    Path dir = folder.resolve(CLIP_FOLDER);
                    clip = Files.isRegularFile(dir.resolve("config.json"))
                            ? Optional.of(dev.cm3leon.retrieval.ClipEmbedder.load(dir)) : Optional.empty();
                }
                c = clip;
            }
        }
        return c;
    }

    /** The scorer {@code samples(n)} re-ranks by when the request names none: CLIP when the checkpoint ships one. */
    Optional<dev.cm3leon.decode.Scorer> defaultScorer() {
        return clip().map(dev.cm3leon.retrieval.ClipScorer::new);
    }

    /** Where asynchronous requests run: one daemon thread per running request. */
    ExecutorService executor() {
        ExecutorService e = executor;
        if (e == null) {
            synchronized (this) {
                if (executor == null) {
                    executor = Executors.newCachedThreadPool(r -> {
                        Thread t = new Thread(r, "cm3leon-request");
                        t.setDaemon(true);
                        return t;
                    });
                }
                e = executor;
            }
        }
        return e;
    }

    /**
     * The image tokenizer, built on first use from the already open checkpoint's {@code model.vqmodel.*} tensors
     * (and, for the decoder HF's converter drops, Meta's {@code vqgan.safetensors} or {@code vqgan.ckpt} beside it);
     * empty for a checkpoint without {@code vq_config}.
     */
    public Optional<VqGan> vq() {
        if (config.vq().isEmpty()) return Optional.empty();
        VqGan v = vq;
        if (v == null) {
            synchronized (imageLock) {
                if (vq == null) vq = buildVq();
                v = vq;
            }
        }
        return Optional.of(v);
    }

    private VqGan buildVq() {
        checkpoint.requireIntact();
        vqFiles.yaml().filter(y -> !(checkpoint instanceof MetaCheckpoint)).ifPresent(y -> {
            VqConfig meta = VqConfig.readMetaYaml(y);
            if (!meta.equals(config.vq().get())) {
                throw CheckpointException.of(y, "describes " + meta + " but config.json's vq_config is " + config.vq().get());
            }
        });
        Optional<TensorSource> meta = vqFiles.open();
        try {
            List<TensorSource> sources = new ArrayList<>();
            sources.add(checkpoint);          // the model's own tensors first; Meta's file supplies what they lack
            meta.ifPresent(sources::add);
            VqGan v = VqGan.from(config.vq().get(), sources);
            LOG.debug("image tokenizer ready ({}{})", v.canDecode() ? "encoder and decoder" : "encoder only",
                    vqFiles.weights().map(w -> ", " + w).orElse(""));
            return v;
        } finally {
            meta.ifPresent(TensorSource::close);
        }
    }

    /** Meta's VQ-GAN files this model looks for its image decoder in, and which of them it found. */
    public VqGanFiles vqGanFiles() {
        return vqFiles;
    }

    private VqGan requireVq() {
        return vq().orElseThrow(() -> new VqException(folder + ": the checkpoint has no image tokenizer (no vq_config in config.json)"));
    }

    /** The checkpoint's image preprocessing: {@code preprocessor_config.json}, else HF Chameleon's defaults. */
    public ImagePreprocessor imagePreprocessor() {
        ImagePreprocessor p = imagePreprocessor;
        if (p == null) {
            Path json = folder.resolve("preprocessor_config.json");
            p = Files.isRegularFile(json) ? ImagePreprocessor.fromConfig(json)
                    : ImagePreprocessor.chameleon(requireVq().config().resolution());
            imagePreprocessor = p;
        }
        return p;
    }

    /** An image's BPE ids (row-major over the code grid), as the model reads images. */
    public int[] imageTokens(BufferedImage image) {
        return imageTokens(imagePreprocessor().preprocess(image));
    }

    /** An image file's BPE ids; the file is refused before decoding when above the preprocessor's pixel budget. */
    public int[] imageTokens(Path imageFile) {
        return imageTokens(imagePreprocessor().preprocess(imageFile));
    }

    /** Preprocessed pixel values [3, S, S] → BPE ids through the vocabulary's codebook map. */
    public int[] imageTokens(FeatureMap pixelValues) {
        VocabularyMap vocabulary = config.vocabulary()
                .orElseThrow(() -> new VqException(folder + ": the checkpoint has no vocabulary_map for image tokens"));
        int[] codes = requireVq().encode(pixelValues).codes();
        int[] ids = new int[codes.length];
        for (int i = 0; i < codes.length; i++) ids[i] = vocabulary.bpeIdOfCode(codes[i]);
        return ids;
    }

    /**
     * {@code ids} with each run of {@code <image>} placeholders replaced, in order, by the BPE ids of the matching
     * image's pixel values, as HF fills them from {@code pixel_values}.
     */
    public int[] fillImagePlaceholders(int[] ids, List<FeatureMap> pixelValues) {
        int placeholder = config.vocabulary().map(VocabularyMap::imagePlaceholder).orElse(-1);
        if (placeholder < 0) throw new VqException(folder + ": the vocabulary has no <image> placeholder token");
        int perImage = requireVq().config().tokensPerImage();
        ImagePlaceholders.check(ids, placeholder, perImage, pixelValues.size());   // before any image is encoded
        List<int[]> tokens = new ArrayList<>();
        for (FeatureMap px : pixelValues) tokens.add(imageTokens(px));
        return ImagePlaceholders.fill(ids, placeholder, perImage, tokens);
    }

    /** Applies the reference's image-token suppression to {@code rows} rows of logits. */
    public void suppressImageTokens(float[] logits, int rows) {
        suppression.ifPresent(s -> s.apply(logits, rows, config.vocabSize()));
    }

    /** Logits for every position of {@code tokens} [T, V], image tokens suppressed, as HF's forward returns them. */
    public float[] logits(int[] tokens) {
        checkpoint.requireIntact();
        if (tokens.length == 0) throw new Cm3LeonException("the token sequence is empty");
        checkTokens(tokens);
        checkContext(tokens.length);
        try (KvCache cache = engine.newCache(tokens.length)) {
            float[] out = engine.forward(List.of(new StreamStep(cache, tokens, StreamStep.Logits.ALL)))[0];
            suppressImageTokens(out, tokens.length);
            return out;
        }
    }

    /**
     * Greedy decoding with the KV cache: up to {@code maxNewTokens} ids, stopping after EOS (which is included).
     * Image tokens are suppressed as in the reference's text generation.
     */
    public int[] generateGreedy(int[] prompt, int maxNewTokens) {
        return generateGreedy(prompt, maxNewTokens, null);
    }

    /** As {@link #generateGreedy(int[], int)}, handing each step's logits to {@code stepLogits} if not null. */
    public int[] generateGreedy(int[] prompt, int maxNewTokens, java.util.function.Consumer<float[]> stepLogits) {
        checkpoint.requireIntact();
        if (prompt.length == 0) throw new Cm3LeonException("the prompt is empty");
        if (maxNewTokens < 0) throw new Cm3LeonException("maxNewTokens must be ≥ 0, got " + maxNewTokens);
        checkTokens(prompt);
        checkContext(prompt.length + maxNewTokens);
        int[] out = new int[maxNewTokens];
        int produced = 0;
        try (KvCache cache = engine.newCache(Math.max(1, prompt.length + maxNewTokens))) {
            int[] next = prompt;
            while (produced < maxNewTokens) {
                float[] logits = engine.forward(List.of(StreamStep.last(cache, next)))[0];
                suppressImageTokens(logits, 1);
                if (stepLogits != null) stepLogits.accept(logits.clone());
                int id = argmax(logits);
                out[produced++] = id;
                if (id == config.eosId()) break;
                next = new int[]{id};
            }
        }
        return Arrays.copyOf(out, produced);
    }

    /** Token ids must index the vocabulary; says which position holds the first bad one. */
    public void checkTokens(int[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new Cm3LeonException("token id " + tokens[i] + " at position " + i
                        + " is outside the vocabulary of " + config.vocabSize());
            }
        }
    }

    /**
     * Guided greedy decoding on token ids, for parity checks with other runtimes: 2-stream CFG ({@code l = u + s·(c − u)}
     * on raw logits) when {@code unconditional} is given. In image mode the prompt must end with begin-of-image and
     * the result is the grid's image tokens followed by the forced end-of-image.
     */
    public int[] generateGuidedGreedy(int[] prompt, int[] unconditional, double cfgScale, ModalityState.Output mode,
                                      int maxNewTokens) {
        checkpoint.requireIntact();
        checkTokens(prompt);
        if (unconditional != null) checkTokens(unconditional);
        VocabularyMap v = format.vocabulary();
        boolean image = mode == ModalityState.Output.IMAGE;
        int tokensPerImage = config.vq().map(VqConfig::tokensPerImage).orElse(0);
        if (image) {
            if (tokensPerImage == 0 || v.imageTokenCount() == 0) {
                throw new InvalidRequestException("image mode needs a checkpoint with image tokens and a vq_config");
            }
            if (prompt.length == 0 || prompt[prompt.length - 1] != v.beginOfImage()) {
                throw new InvalidRequestException("image mode needs a prompt that ends with begin-of-image (id " + v.beginOfImage() + ")");
            }
            maxNewTokens = tokensPerImage + 1;
        }
        DecodingOptions o = new DecodingOptions().greedy(true).guideText(true);
        if (unconditional != null) o.guidance(cfgScale, DecodingOptions.Unconditional.BARE_BEGIN_OF_IMAGE);
        int[][] streams = unconditional == null ? new int[][]{prompt} : new int[][]{prompt, unconditional};
        for (int[] st : streams) checkContext(st.length + maxNewTokens);
        var seq = new GenerationLoop.Sequence(streams, o.chainFor(0, streams.length - 1),
                new ModalityState(v, config.vocabSize(), tokensPerImage, mode, image), new java.util.SplittableRandom(0),
                maxNewTokens, config.eosId());
        return loop.run(List.of(seq), GenerationControl.none(), null).tokens()[0];
    }

    private void checkContext(int length) {
        if (length > config.maxPositions()) {
            throw new Cm3LeonException("the sequence needs " + length + " positions but the model's context is "
                    + config.maxPositions() + " (max_position_embeddings)");
        }
    }

    /** Index of the largest value; the first one on ties, as torch.argmax. */
    public static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    @Override
    public void close() {
        loop.close();
        ExecutorService e = executor;
        if (e != null) e.shutdownNow();
        Optional<dev.cm3leon.retrieval.ClipEmbedder> c = clip;
        if (c != null) c.ifPresent(dev.cm3leon.retrieval.ClipEmbedder::close);
        engine.close();
        checkpoint.close();
    }
}
