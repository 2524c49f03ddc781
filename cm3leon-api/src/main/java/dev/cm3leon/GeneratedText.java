package dev.cm3leon;

import java.util.List;

/** Generated text: the best sample, every sample, timings. */
public record GeneratedText(String text, int[] tokens, double score, List<Sample> samples, Timings timings,
                            List<Retrieval.Document> documents) {
    public record Sample(String text, int[] tokens, double score, boolean contrastive) {
    }
}
