package dev.cm3leon;

import java.util.List;

/**
 * The result of CM3 infilling: the prompt with every mask filled, and each generated span (text, or image tokens
 * for a masked grid region).
 */
public record GeneratedInfill(Prompt filled, List<Span> spans, Timings timings, List<Retrieval.Document> documents) {
    /** What one mask became: text, or the codebook indices of a region's cells. */
    public record Span(String text, int[] codes, int[] tokens) {
    }

    /** The filled prompt's text segments joined. */
    public String text() {
        StringBuilder s = new StringBuilder();
        for (Prompt.Segment seg : filled.segments()) if (seg instanceof Prompt.Text t) s.append(t.text());
        return s.toString();
    }
}
