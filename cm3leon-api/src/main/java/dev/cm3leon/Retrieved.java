package dev.cm3leon;

import java.awt.image.BufferedImage;
import java.util.List;

/** Lays retrieved documents out before a prompt: each as its own mixed-modal sequence, joined by the separator. */
final class Retrieved {
    private Retrieved() {
    }

    static List<Retrieval.Document> fetch(Request<?, ?> r, String queryText, BufferedImage queryImage) {
        if (r.retrieval == null) return List.of();
        return List.copyOf(r.retrieval.retriever().retrieve(queryText, queryImage, r.retrieval.k()));
    }

    /** {@code <s> doc₁ <sep> doc₂ <sep> prompt…} where the prompt's own BOS is dropped. */
    static int[] prepend(SequenceFormat f, List<Retrieval.Document> docs, int[] prompt) {
        if (docs.isEmpty()) return prompt;
        var template = f.templates().template(TaskTemplates.DOCUMENT);
        int sep = f.special(f.templates().documentSeparator());
        SequenceFormat.IntBuilder out = new SequenceFormat.IntBuilder();
        out.add(f.bos());
        for (Retrieval.Document d : docs) {
            int[] image = d.image() == null || !f.hasImages() ? null : f.image(d.image());
            out.addAll(f.render(template, d.text(), image));
            out.add(sep);
        }
        int start = prompt.length > 0 && prompt[0] == f.bos() ? 1 : 0;
        for (int i = start; i < prompt.length; i++) out.add(prompt[i]);
        return out.toArray();
    }
}
