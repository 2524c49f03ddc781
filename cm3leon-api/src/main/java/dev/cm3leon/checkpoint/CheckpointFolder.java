package dev.cm3leon.checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A checkpoint folder as a user downloads it, its layout detected from the files it holds.
 *
 * <ul>
 *   <li>{@link Layout#HF}: {@code config.json} with {@code model.safetensors} or {@code model.safetensors.index.json}
 *       ({@code facebook/chameleon-7b}, {@code leloy/Anole-7b-v0.1-hf}).</li>
 *   <li>{@link Layout#LUMINA}: an HF folder whose {@code config.json} names {@code ChameleonXLLMXForConditionalGeneration}
 *       ({@code Alpha-VLLM/Lumina-mGPT-7B-512}, {@code -768}, {@code -1024}, {@code -768-Omni}): QK-norm weights per
 *       model-parallel shard, Lumina's image layout and decoding defaults; Meta's VQ-GAN files looked up as for HF.</li>
 *   <li>{@link Layout#META}: Meta's original release ({@code facebook/chameleon}'s download,
 *       {@code GAIR/Anole-7b-v0.1}): {@code models/<size>/params.json} with {@code consolidated.pth} or
 *       {@code consolidated.NN.pth}, and {@code tokenizer/text_tokenizer.json}, {@code vqgan.yaml},
 *       {@code vqgan.ckpt}. The folder given may be the release's root or its {@code models/<size>} folder.</li>
 * </ul>
 *
 * @param folder       the folder the user named
 * @param modelDir     where the weights are
 * @param tokenizer    the text tokenizer file, when there is one
 * @param vqFolders    where Meta's image tokenizer files ({@code vqgan.yaml} with {@code vqgan.ckpt} or
 *                     {@code vqgan.safetensors}) are looked for, in order
 */
public record CheckpointFolder(Layout layout, Path folder, Path modelDir, Optional<Path> tokenizer, List<Path> vqFolders) {
    public enum Layout {
        HF("HF Chameleon (config.json + safetensors)"),
        LUMINA("Lumina-mGPT (config.json naming ChameleonXLLMXForConditionalGeneration + safetensors)"),
        META("Meta's original release (params.json + consolidated.pth)");

        private final String description;

        Layout(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    public static final String HF_TOKENIZER = "tokenizer.json";
    public static final String META_TOKENIZER = "text_tokenizer.json";
    public static final String TOKENIZER_FOLDER = "tokenizer";
    /** The architecture name Lumina-mGPT's configs carry. */
    public static final String LUMINA_ARCHITECTURE = "ChameleonXLLMXForConditionalGeneration";

    /**
     * The one result of opening a folder: its decoder config (special ids as the tokenizer gives them), its tensors
     * under HF's names, the ids that end an answer, and the family whose built-in templates and defaults apply
     * ({@code chameleon}, {@code lumina}).
     */
    public record Opened(ModelConfig config, TensorSource weights, SpecialTokens special, String family) {
    }

    /** Detects the layout, or explains which files were looked for. */
    public static CheckpointFolder detect(Path folder) {
        if (!Files.isDirectory(folder)) throw CheckpointException.of(folder, "not a checkpoint folder (not a folder)");
        if (Files.isRegularFile(folder.resolve("config.json")) && SafetensorsCheckpoint.isCheckpointFolder(folder)) {
            Path tok = folder.resolve(HF_TOKENIZER);
            Layout layout = architectures(folder.resolve("config.json")).contains(LUMINA_ARCHITECTURE) ? Layout.LUMINA : Layout.HF;
            return new CheckpointFolder(layout, folder, folder, Files.isRegularFile(tok) ? Optional.of(tok) : Optional.empty(),
                    distinct(folder, folder.resolve(TOKENIZER_FOLDER)));
        }
        if (SafetensorsCheckpoint.isCheckpointFolder(folder)) {
            throw CheckpointException.of(folder.resolve("config.json"), "file not found; an HF checkpoint folder needs it beside "
                    + "its safetensors");
        }
        if (isMetaModelDir(folder)) return meta(folder, folder);
        List<Path> sizes = metaModelDirs(folder);
        if (sizes.size() == 1) return meta(folder, sizes.getFirst());
        if (sizes.size() > 1) {
            throw CheckpointException.of(folder, "holds several models " + sizes.stream().map(folder::relativize).toList()
                    + "; name the one to load (e.g. " + sizes.getFirst() + ")");
        }
        throw CheckpointException.of(folder, "matches no known checkpoint layout; looked for: config.json with "
                + SafetensorsCheckpoint.SINGLE_FILE + " or " + SafetensorsCheckpoint.INDEX_FILE + " (HF Chameleon); "
                + MetaParams.PARAMS + " or " + MetaCheckpoint.SINGLE_FILE + " / consolidated.00.pth in the folder or in "
                + "models/<size>/ (Meta's original release)");
    }

    private static java.util.List<String> architectures(Path configJson) {
        ConfigReader c = ConfigReader.read(configJson);
        var a = c.root().get("architectures");
        if (a == null || a.isNull()) return List.of();
        if (!a.isArray()) throw c.error("architectures", "must be a list of names, found " + a);
        List<String> names = new ArrayList<>();
        a.forEach(n -> names.add(n.asText()));
        return names;
    }

    private static boolean isMetaModelDir(Path dir) {
        return Files.isRegularFile(dir.resolve(MetaParams.PARAMS)) || MetaCheckpoint.hasWeights(dir);
    }

    private static List<Path> metaModelDirs(Path folder) {
        Path models = folder.resolve("models");
        if (!Files.isDirectory(models)) return List.of();
        try (Stream<Path> s = Files.list(models)) {
            return s.filter(Files::isDirectory).filter(CheckpointFolder::isMetaModelDir).sorted().toList();
        } catch (IOException e) {
            throw CheckpointException.of(models, "cannot list the folder: " + e.getMessage());
        }
    }

    /** The tokenizer folder is the release's {@code tokenizer/}: in the folder named, or two levels above the model. */
    private static CheckpointFolder meta(Path folder, Path modelDir) {
        List<Path> candidates = new ArrayList<>(List.of(folder.resolve(TOKENIZER_FOLDER), modelDir.resolve(TOKENIZER_FOLDER)));
        Path up = modelDir.toAbsolutePath().normalize().getParent();
        if (up != null && up.getFileName() != null && up.getFileName().toString().equals("models") && up.getParent() != null) {
            candidates.add(up.getParent().resolve(TOKENIZER_FOLDER));
        }
        List<Path> tokenizerDirs = distinct(candidates.toArray(Path[]::new));
        Optional<Path> tok = tokenizerDirs.stream().map(d -> d.resolve(META_TOKENIZER)).filter(Files::isRegularFile).findFirst();
        List<Path> vq = new ArrayList<>(tokenizerDirs);
        vq.add(modelDir);
        return new CheckpointFolder(Layout.META, folder, modelDir, tok, distinct(vq.toArray(Path[]::new)));
    }

    private static List<Path> distinct(Path... paths) {
        return List.copyOf(new LinkedHashSet<>(List.of(paths)));
    }

    /** Meta's VQ-GAN files for this checkpoint: at {@code userPath} (null for none), else in {@link #vqFolders}. */
    public VqGanFiles vqGan(Path userPath) {
        return VqGanFiles.find(vqFolders, userPath);
    }

    /** {@link #open(VqGanFiles)} with the VQ-GAN files found in the checkpoint's own folders. */
    public Opened open() {
        return open(vqGan(null));
    }

    /**
     * Reads the config and opens the weights (memory-mapped); the caller closes {@link Opened#weights}. Meta's layout
     * takes its image tokenizer's shape from {@code vq}'s {@code vqgan.yaml}.
     */
    public Opened open(VqGanFiles vq) {
        return switch (layout) {
            case HF, LUMINA -> {
                Path json = folder.resolve("config.json");
                ModelConfig config = ModelConfig.read(json);
                // Without tokenizer.json, vocabulary_map is the tokenizer's vocabulary as the converter copied it.
                Map<String, Integer> tokens = tokenizer.map(TokenizerVocabulary::read)
                        .orElseGet(() -> config.vocabulary().map(VocabularyMap::tokens).orElse(Map.of()));
                SpecialTokens special = SpecialTokens.reconcile(config, tokens, tokenizer.orElse(json),
                        List.of(folder.resolve("generation_config.json"), json));
                Optional<VocabularyMap> vocabulary = config.vocabulary().map(v -> VocabularyMap.of(
                        SpecialTokens.markersFromTokenizer(v.tokens(), tokens), config.vocabSize(), tokenizer.orElse(json)));
                ModelConfig reconciled = config.withSpecialTokens(special.bos(), special.eos(), special.pad(), vocabulary);
                // Lumina-mGPT keeps QK-norm per model-parallel shard; HF's converter writes it per head.
                int modelParallel = ConfigReader.read(json).optInt("model_parallel_size", 1, 1);
                SafetensorsCheckpoint weights = SafetensorsCheckpoint.open(folder);
                try {
                    yield new Opened(reconciled, GroupedQkNorm.expand(weights, reconciled, modelParallel), special,
                            layout == Layout.LUMINA ? "lumina" : "chameleon");
                } catch (RuntimeException e) {
                    weights.close();
                    throw e;
                }
            }
            case META -> openMeta(vq);
        };
    }

    private Opened openMeta(VqGanFiles vqFiles) {
        MetaParams p = MetaParams.read(modelDir);
        Path tok = tokenizer.orElseThrow(() -> CheckpointException.of(folder, "Meta's layout needs " + TOKENIZER_FOLDER + "/"
                + META_TOKENIZER + " (the vocabulary, image tokens included); looked in "
                + vqFolders.stream().filter(d -> !d.equals(modelDir)).toList()));
        Map<String, Integer> tokens = TokenizerVocabulary.read(tok);
        VocabularyMap vocabulary = VocabularyMap.of(TokenizerVocabulary.asVocabularyMap(tokens), p.vocabSize(), tok);
        Optional<VqConfig> vq = vqFiles.yaml().map(VqConfig::readMetaYaml);
        if (vq.isPresent() && vocabulary.imageTokenCount() > 0 && vocabulary.imageTokenCount() != vq.get().numEmbeddings()) {
            throw CheckpointException.of(tok, "holds " + vocabulary.imageTokenCount() + " image tokens but vqgan.yaml's n_embed is "
                    + vq.get().numEmbeddings());
        }
        MetaCheckpoint weights = MetaCheckpoint.open(modelDir, p);
        try {
            // params.json states no ids: the tokenizer's <s>, </s> and <pad>, Chameleon's 0, 2, 1 when it lacks one.
            ModelConfig config = new ModelConfig("chameleon", p.dim(), p.intermediateSize(), p.nLayers(), p.nHeads(),
                    p.nKvHeads(), p.headDim(), p.vocabSize(), p.maxPositions(), p.ropeTheta(), p.normEps(), p.swinNorm(),
                    p.qkNormalization(), false, 0, 2, 1, weights.torchDtype(), Optional.of(vocabulary), vq, true);
            SpecialTokens special = SpecialTokens.reconcile(config, tokens, tok, List.of());
            return new Opened(config.withSpecialTokens(special.bos(), special.eos(), special.pad(), config.vocabulary()),
                    weights, special, "chameleon");
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }
}
