package dev.cm3leon.retrieval;

import dev.cm3leon.engine.cpu.CpuOps;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A frozen CLIP bi-encoder: HF's {@code CLIPModel}, {@code CLIPTokenizer} and {@code CLIPImageProcessor} from one
 * folder. Texts longer than the context (77 tokens for OpenAI's models) are truncated, keeping the end token.
 * Thread-safe; {@link #close()} unmaps the weights.
 */
public final class ClipEmbedder implements Embedder, AutoCloseable {
    /** Sequences (or images) per forward pass in the batched methods: bounds the activation memory. */
    private static final int BATCH = 32;

    private final ClipModel model;
    private final ClipTokenizer tokenizer;
    private final ClipImageProcessor processor;

    public ClipEmbedder(ClipModel model, ClipTokenizer tokenizer, ClipImageProcessor processor) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.processor = processor;
        int s = model.config().imageSize();
        if (processor.doCenterCrop() && (processor.cropHeight() != s || processor.cropWidth() != s)) {
            throw new IllegalArgumentException("the image processor crops to " + processor.cropHeight() + "×"
                    + processor.cropWidth() + " but the vision tower takes " + s + "×" + s);
        }
    }

    /** Loads an HF CLIP folder: config.json, model.safetensors, vocab.json, merges.txt, preprocessor_config.json. */
    public static ClipEmbedder load(Path folder) {
        ClipModel model = ClipModel.load(folder);
        try {
            return new ClipEmbedder(model, ClipTokenizer.load(folder), ClipImageProcessor.load(folder, model.config().imageSize()));
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    public ClipModel model() {
        return model;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public ClipImageProcessor processor() {
        return processor;
    }

    @Override
    public int dimension() {
        return model.config().projectionDim();
    }

    /** {@code exp(logit_scale)}: CLIP's logits are this times the cosine similarity. */
    public float logitScale() {
        return model.logitScale();
    }

    @Override
    public float[] embedText(String text) {
        return embedTokens(tokens(text));
    }

    /** Begin token, the text's tokens (truncated to the context), end token. */
    public int[] tokens(String text) {
        return tokenizer.encodeForModel(text, model.config().maxPositions());
    }

    /** The normalised embedding of a token sequence that already holds the begin and end tokens. */
    public float[] embedTokens(int[] ids) {
        return normalizeRows(model.textFeatures(ids, null, 1, ids.length), 1).getFirst();
    }

    /** Drops {@code rate} of the text's BPE tokens (never the begin and end tokens) before embedding it. */
    @Override
    public float[] embedTextWithDropout(String text, double rate, RandomGenerator random) {
        int[] ids = tokens(text);
        List<Integer> inner = new ArrayList<>(ids.length);
        for (int i = 1; i < ids.length - 1; i++) inner.add(ids[i]);
        List<Integer> kept = QueryDropout.apply(inner, rate, random);
        int[] out = new int[kept.size() + 2];
        out[0] = ids[0];
        for (int i = 0; i < kept.size(); i++) out[i + 1] = kept.get(i);
        out[out.length - 1] = ids[ids.length - 1];
        return embedTokens(out);
    }

    @Override
    public float[] embedImage(BufferedImage image) {
        return normalizeRows(model.imageFeatures(processor.preprocess(image), 1), 1).getFirst();
    }

    /** Normalised embeddings of many texts, padded into batches so each weight matrix is read once per batch. */
    public List<float[]> embedTexts(List<String> texts) {
        List<float[]> out = new ArrayList<>(texts.size());
        for (int from = 0; from < texts.size(); from += BATCH) {
            List<int[]> batch = texts.subList(from, Math.min(texts.size(), from + BATCH)).stream().map(this::tokens).toList();
            int seq = batch.stream().mapToInt(a -> a.length).max().orElse(2);
            int[] ids = new int[batch.size() * seq], mask = new int[ids.length];
            Arrays.fill(ids, tokenizer.padId());
            for (int b = 0; b < batch.size(); b++) {
                int[] t = batch.get(b);
                System.arraycopy(t, 0, ids, b * seq, t.length);
                Arrays.fill(mask, b * seq, b * seq + t.length, 1);
            }
            out.addAll(normalizeRows(model.textFeatures(ids, mask, batch.size(), seq), batch.size()));
        }
        return out;
    }

    /** Normalised embeddings of many images, in batches. */
    public List<float[]> embedImages(List<BufferedImage> images) {
        List<float[]> out = new ArrayList<>(images.size());
        for (int from = 0; from < images.size(); from += BATCH) {
            List<BufferedImage> batch = images.subList(from, Math.min(images.size(), from + BATCH));
            float[] first = processor.preprocess(batch.getFirst());
            float[] pixels = new float[first.length * batch.size()];
            System.arraycopy(first, 0, pixels, 0, first.length);
            for (int b = 1; b < batch.size(); b++) System.arraycopy(processor.preprocess(batch.get(b)), 0, pixels, b * first.length, first.length);
            out.addAll(normalizeRows(model.imageFeatures(pixels, batch.size()), batch.size()));
        }
        return out;
    }

    /** Document embeddings with the texts and the images each embedded in batches. */
    @Override
    public List<float[]> embedAll(List<Document> documents) {
        List<String> texts = new ArrayList<>();
        List<BufferedImage> images = new ArrayList<>();
        for (Document d : documents) {
            d.text().ifPresent(texts::add);
            d.image().ifPresent(i -> images.add(i.read()));
        }
        List<float[]> textEmb = embedTexts(texts), imageEmb = embedImages(images);
        List<float[]> out = new ArrayList<>(documents.size());
        int t = 0, im = 0;
        for (Document d : documents) {
            out.add(Embedder.combine(d.text().isPresent() ? textEmb.get(t++) : null, d.image().isPresent() ? imageEmb.get(im++) : null));
        }
        return out;
    }

    private List<float[]> normalizeRows(float[] features, int rows) {
        int p = dimension();
        List<float[]> out = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            float[] e = Arrays.copyOfRange(features, r * p, (r + 1) * p);
            CpuOps.l2Normalize(e, 0, p);
            out.add(e);
        }
        return out;
    }

    @Override
    public void close() {
        model.close();
    }
}
