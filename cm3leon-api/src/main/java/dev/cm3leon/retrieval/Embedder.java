package dev.cm3leon.retrieval;

import dev.cm3leon.engine.cpu.CpuOps;

import java.awt.image.BufferedImage;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Maps text and images into one embedding space where relevance is the inner product. Embeddings are L2-normalised,
 * so inner product and cosine similarity agree. Implementations must be thread-safe.
 */
public interface Embedder {
    /** The L2-normalised embedding of a text. */
    float[] embedText(String text);

    /** The L2-normalised embedding of an image. */
    float[] embedImage(BufferedImage image);

    /** Length of every embedding. */
    int dimension();

    /**
     * The text's embedding with {@code rate} of its tokens dropped (query dropout). This default drops
     * whitespace-separated words; embedders with a tokenizer drop their own tokens.
     */
    default float[] embedTextWithDropout(String text, double rate, RandomGenerator random) {
        List<String> words = Arrays.asList(text.strip().split("\\s+"));
        return embedText(String.join(" ", QueryDropout.apply(words, rate, random)));
    }

    /** A document's (or query's) embedding: the mean of its normalised text and image embeddings, normalised again. */
    default float[] embed(Document document) {
        float[] text = document.text().map(this::embedText).orElse(null);
        float[] image = document.image().map(i -> embedImage(i.read())).orElse(null);
        return combine(text, image);
    }

    /** Embeddings of many documents; implementations batch the work where that is faster. */
    default List<float[]> embedAll(List<Document> documents) {
        return documents.stream().map(this::embed).toList();
    }

    /** Mean of two unit vectors (either may be null), normalised again. */
    static float[] combine(float[] text, float[] image) {
        if (text == null && image == null) throw new IllegalArgumentException("nothing to embed");
        if (text == null) return image.clone();
        if (image == null) return text.clone();
        if (text.length != image.length) throw new IllegalArgumentException("text and image embeddings differ in length");
        float[] out = new float[text.length];
        for (int i = 0; i < out.length; i++) out[i] = (text[i] + image[i]) * 0.5f;
        CpuOps.l2Normalize(out, 0, out.length);
        return out;
    }
}
