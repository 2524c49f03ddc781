package dev.cm3leon.retrieval;

import dev.cm3leon.engine.cpu.CpuOps;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * CM3Leon's retrieval step (DESIGN §7): embed the query as a document is embedded, take the top candidates by inner
 * product from the memory bank, drop near-copies of the query (score above {@code nearCopyThreshold}, 0.9), drop
 * duplicates among the candidates (inner product of their embeddings above {@code duplicateThreshold}), and keep the
 * best k. With {@code queryDropout} > 0 a fraction of the query's text tokens is dropped before the search, drawn
 * from {@code seed}: the same seed gives the same documents. Immutable and thread-safe.
 */
public final class Retriever {
    /**
     * @param candidateFactor   candidates fetched per wanted document before filtering (at least k + 16 in all)
     * @param nearCopyThreshold candidates scoring above this against the query are dropped as near-copies
     *                          ({@code Double.POSITIVE_INFINITY} keeps them)
     * @param duplicateThreshold a candidate whose embedding scores above this against a kept one is a duplicate
     * @param queryDropout      fraction of query tokens dropped before embedding (0 = off; CM3Leon uses 0.2)
     * @param seed              the dropout's random seed
     */
    public record Options(int candidateFactor, double nearCopyThreshold, double duplicateThreshold, double queryDropout,
                          long seed) {
        public static final Options DEFAULTS = new Options(4, 0.9, 0.95, 0.0, 0L);

        public Options {
            if (candidateFactor < 1) throw new IllegalArgumentException("candidateFactor must be at least 1");
            if (!(queryDropout >= 0 && queryDropout < 1)) throw new IllegalArgumentException("queryDropout must be in [0, 1)");
            if (Double.isNaN(nearCopyThreshold) || Double.isNaN(duplicateThreshold)) {
                throw new IllegalArgumentException("nearCopyThreshold and duplicateThreshold must be numbers (+∞ turns a filter off), got "
                        + nearCopyThreshold + " and " + duplicateThreshold);
            }
        }

        public Options withQueryDropout(double rate, long seed) {
            return new Options(candidateFactor, nearCopyThreshold, duplicateThreshold, rate, seed);
        }

        public Options withThresholds(double nearCopy, double duplicate) {
            return new Options(candidateFactor, nearCopy, duplicate, queryDropout, seed);
        }

        /**
         * Near-copies of the query kept: for prompts, which a bank's document may repeat word for word (the rule is
         * CM3Leon's for training, where the query is itself a document of the corpus).
         */
        public Options keepingNearCopies() {
            return withThresholds(Double.POSITIVE_INFINITY, duplicateThreshold);
        }
    }

    private final Embedder embedder;
    private final MemoryBank bank;
    private final Options options;

    public Retriever(Embedder embedder, MemoryBank bank) {
        this(embedder, bank, Options.DEFAULTS);
    }

    /** @throws MemoryBankException when the bank's dimension is not the embedder's */
    public Retriever(Embedder embedder, MemoryBank bank, Options options) {
        if (bank.dimension() != embedder.dimension()) {
            throw new MemoryBankException("the memory bank holds " + bank.dimension() + "-dimensional embeddings but the embedder produces "
                    + embedder.dimension() + "-dimensional ones; use the embedder the bank was built with");
        }
        this.embedder = embedder;
        this.bank = bank;
        this.options = options;
    }

    public Options options() {
        return options;
    }

    /**
     * This retriever as requests use it ({@code .retrieve(retriever.forRequests(), k)}): up to k documents for a query
     * made of the request's text and/or image, with their texts and decoded images.
     */
    public dev.cm3leon.Retrieval forRequests() {
        return this::retrieveForRequest;
    }

    private List<dev.cm3leon.Retrieval.Document> retrieveForRequest(String queryText, java.awt.image.BufferedImage queryImage, int k) {
        if ((queryText == null || queryText.isBlank()) && queryImage == null) return List.of();
        Document query = Document.of("query", queryText == null || queryText.isBlank() ? null : queryText,
                queryImage == null ? null : DocumentImage.of(queryImage));
        return retrieve(query, k).stream().map(s -> new dev.cm3leon.Retrieval.Document(s.id(),
                s.document().text().orElse(null), s.document().image().map(DocumentImage::read).orElse(null),
                s.score())).toList();
    }

    /** Up to k documents for a text query. */
    public List<ScoredDocument> retrieve(String query, int k) {
        return retrieve(Document.ofText("query", query), k);
    }

    /** Up to k documents for a (mixed-modal) query, embedded as a document is. */
    public List<ScoredDocument> retrieve(Document query, int k) {
        SplittableRandom random = new SplittableRandom(options.seed());
        float[] text = query.text().map(t -> embedText(t, random)).orElse(null);
        float[] image = query.image().map(i -> embedder.embedImage(i.read())).orElse(null);
        return select(Embedder.combine(text, image), k, List.of());
    }

    /**
     * Up to k documents by the query's text and up to k more by its image (a part that is absent contributes
     * none), with no document twice.
     */
    public List<ScoredDocument> retrieveByModality(Document query, int k) {
        SplittableRandom random = new SplittableRandom(options.seed());
        List<ScoredDocument> out = new ArrayList<>();
        query.text().ifPresent(t -> out.addAll(select(embedText(t, random), k, out)));
        query.image().ifPresent(i -> out.addAll(select(embedder.embedImage(i.read()), k, out)));
        return out;
    }

    private float[] embedText(String text, SplittableRandom random) {
        return options.queryDropout() > 0 ? embedder.embedTextWithDropout(text, options.queryDropout(), random) : embedder.embedText(text);
    }

    /**
     * The filtering rules on an embedded query: best-first candidates, near-copies of the query and duplicates of
     * kept documents (or of {@code alreadyKept}) dropped, at most k returned.
     */
    public List<ScoredDocument> select(float[] query, int k, List<ScoredDocument> alreadyKept) {
        if (k < 1) throw new IllegalArgumentException("k must be positive, found " + k);
        List<ScoredDocument> candidates = bank.search(query, Math.max(k * options.candidateFactor(), k + 16));
        List<ScoredDocument> kept = new ArrayList<>(k);
        List<float[]> seen = new ArrayList<>();
        alreadyKept.forEach(d -> seen.add(d.embedding()));
        List<String> seenIds = new ArrayList<>(alreadyKept.stream().map(ScoredDocument::id).toList());
        for (ScoredDocument c : candidates) {
            if (kept.size() == k) break;
            if (c.score() > options.nearCopyThreshold()) continue;
            if (seenIds.contains(c.id())) continue;
            float[] e = c.embedding();
            if (seen.stream().anyMatch(s -> CpuOps.dot(s, 0, e, 0, e.length) > options.duplicateThreshold())) continue;
            kept.add(c);
            seen.add(e);
            seenIds.add(c.id());
        }
        return kept;
    }
}
