package dev.cm3leon.retrieval;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The retrieval rules on an exact bank with hand-placed embeddings. */
class RetrieverTest {
    static final int D = 16;
    final float[] query = Vectors.unit(new java.util.SplittableRandom(5), D);
    final ExactMemoryBank bank = new ExactMemoryBank(D);
    final FixedEmbedder embedder = new FixedEmbedder();

    /** Texts map to fixed vectors; every text it was asked to embed is recorded. */
    static final class FixedEmbedder implements Embedder {
        final Map<String, float[]> vectors = new HashMap<>();
        final List<String> embedded = new ArrayList<>();
        float[] image;

        @Override
        public synchronized float[] embedText(String text) {
            embedded.add(text);
            return vectors.computeIfAbsent(text, t -> Vectors.unit(new java.util.SplittableRandom(t.hashCode()), D));
        }

        @Override
        public float[] embedImage(BufferedImage img) {
            return image;
        }

        @Override
        public int dimension() {
            return D;
        }
    }

    @AfterEach
    void close() {
        bank.close();
    }

    private void put(String id, double cosToQuery) {
        bank.add(Vectors.entry(id, Vectors.atCosine(query, cosToQuery, id.hashCode())));
    }

    @Test
    void nearCopiesOfTheQueryAreDropped() {
        embedder.vectors.put("q", query);
        bank.add(Vectors.entry("copy", query.clone()));
        put("almost", 0.93);
        put("close", 0.85);
        put("far", 0.5);
        List<ScoredDocument> got = new Retriever(embedder, bank).retrieve("q", 2);
        assertThat(got).extracting(ScoredDocument::id).containsExactly("close", "far");
        assertThat(got.getFirst().score()).isCloseTo(0.85f, org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void theNearCopyThresholdIsAdjustable() {
        embedder.vectors.put("q", query);
        put("almost", 0.93);
        put("close", 0.85);
        var options = Retriever.Options.DEFAULTS.withThresholds(0.95, 0.95);
        assertThat(new Retriever(embedder, bank, options).retrieve("q", 1)).extracting(ScoredDocument::id).containsExactly("almost");
    }

    @Test
    void anInfiniteNearCopyThresholdKeepsExactMatches() {
        embedder.vectors.put("q", query);
        bank.add(Vectors.entry("copy", query.clone()));
        put("close", 0.85);
        var options = Retriever.Options.DEFAULTS.keepingNearCopies();
        assertThat(options.duplicateThreshold()).isEqualTo(Retriever.Options.DEFAULTS.duplicateThreshold());
        assertThat(new Retriever(embedder, bank, options).retrieve("q", 2)).extracting(ScoredDocument::id).containsExactly("copy", "close");
    }

    @Test
    void nanThresholdsAreRefused() {
        assertThatThrownBy(() -> Retriever.Options.DEFAULTS.withThresholds(Double.NaN, 0.95))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nearCopyThreshold");
        assertThatThrownBy(() -> Retriever.Options.DEFAULTS.withThresholds(0.9, Double.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duplicateThreshold");
    }

    @Test
    void duplicatesAmongCandidatesAreDropped() {
        embedder.vectors.put("q", query);
        float[] a = Vectors.atCosine(query, 0.8, 1);
        bank.add(Vectors.entry("a", a));
        bank.add(Vectors.entry("a-again", a.clone()));                        // an exact duplicate
        bank.add(Vectors.entry("a-resized", Vectors.atCosine(a, 0.97, 2)));   // a near-duplicate
        put("b", 0.6);
        put("c", 0.4);
        List<ScoredDocument> got = new Retriever(embedder, bank).retrieve("q", 3);
        assertThat(got).hasSize(3);
        assertThat(got.getFirst().id()).isIn("a", "a-again");
        assertThat(got).extracting(ScoredDocument::id).containsSubsequence(got.getFirst().id(), "b", "c")
                .doesNotContain("a-resized");
    }

    @Test
    void returnsFewerThanKWhenTheBankRunsOut() {
        embedder.vectors.put("q", query);
        put("only", 0.5);
        assertThat(new Retriever(embedder, bank).retrieve("q", 4)).extracting(ScoredDocument::id).containsExactly("only");
        bank.delete("only");
        assertThat(new Retriever(embedder, bank).retrieve("q", 4)).isEmpty();
    }

    @Test
    void queryDropoutIsDeterministicBySeed() {
        for (int i = 0; i < 40; i++) put("d" + i, -0.9 + i * 0.045);
        String q = "a small red circle at the top left of a white page";   // 12 words: 2 or 3 dropped
        var withSeed7 = Retriever.Options.DEFAULTS.withQueryDropout(0.2, 7);
        List<ScoredDocument> first = new Retriever(embedder, bank, withSeed7).retrieve(q, 5);
        String firstText = embedder.embedded.getLast();
        List<ScoredDocument> again = new Retriever(embedder, bank, withSeed7).retrieve(q, 5);
        assertThat(embedder.embedded.getLast()).isEqualTo(firstText);
        assertThat(again).extracting(ScoredDocument::id).isEqualTo(first.stream().map(ScoredDocument::id).toList());
        assertThat(firstText.split(" ")).hasSize(10);                         // round(0.2 · 12) = 2 words gone
        Set<String> texts = new HashSet<>();
        for (long seed = 0; seed < 10; seed++) {
            new Retriever(embedder, bank, Retriever.Options.DEFAULTS.withQueryDropout(0.2, seed)).retrieve(q, 5);
            texts.add(embedder.embedded.getLast());
        }
        assertThat(texts).hasSizeGreaterThan(3);
    }

    @Test
    void dropoutKeepsTheOrderOfTheRemainingTokensAndAtLeastOne() {
        List<Integer> tokens = List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
        List<Integer> kept = QueryDropout.apply(tokens, 0.2, new java.util.SplittableRandom(3));
        assertThat(kept).hasSize(8).isSorted().isSubsetOf(tokens);
        assertThat(QueryDropout.apply(List.of(42), 0.5, new java.util.SplittableRandom(3))).containsExactly(42);
        assertThatThrownBy(() -> QueryDropout.apply(tokens, 1.0, new java.util.SplittableRandom(3))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void kByTextAndKByImageWithoutRepeats() {
        float[] imageQuery = Vectors.atCosine(query, 0.0, 77);
        embedder.vectors.put("q", query);
        embedder.image = imageQuery;
        put("t1", 0.8);
        put("t2", 0.7);
        bank.add(Vectors.entry("i1", Vectors.atCosine(imageQuery, 0.8, 3)));
        bank.add(Vectors.entry("i2", Vectors.atCosine(imageQuery, 0.7, 4)));
        Document mixed = Document.of("query", "q", DocumentImage.of(new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB)));
        List<ScoredDocument> got = new Retriever(embedder, bank).retrieveByModality(mixed, 2);
        assertThat(got).extracting(ScoredDocument::id).containsExactly("t1", "t2", "i1", "i2");
    }

    @Test
    void aBankOfAnotherDimensionIsRefused() {
        try (ExactMemoryBank other = new ExactMemoryBank(D * 2)) {
            assertThatThrownBy(() -> new Retriever(embedder, other)).isInstanceOf(MemoryBankException.class)
                    .hasMessageContaining(D * 2 + "-dimensional").hasMessageContaining(D + "-dimensional");
        }
    }
}
