package dev.cm3leon;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code .retrieve(retriever, k)} on every request type: documents laid out before the prompt and reported. */
class RetrievalInRequestsTest {
    static FixtureModels.Loaded loaded;
    static Cm3Leon model;
    static final List<String> queries = new ArrayList<>();
    static final Retrieval RETRIEVER = (text, image, k) -> {
        synchronized (queries) {
            queries.add(text);
        }
        List<Retrieval.Document> docs = new ArrayList<>();
        for (int i = 0; i < k; i++) docs.add(new Retrieval.Document("d" + i, "doc " + i, RequestsTest.testImage(), 0.5 - i * 0.1));
        return docs;
    };

    @BeforeAll
    static void load() {
        loaded = FixtureModels.load();
        model = loaded.model();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void documentsComeBeforeThePromptEachAsItsOwnSequenceJoinedBySeparators() {
        SequenceFormat f = model.format();
        int[] prompt = RequestRunner.concat(new int[]{f.bos()}, f.text("a cat"), new int[]{37});
        List<Retrieval.Document> docs = RETRIEVER.retrieve("a cat", null, 2);
        int[] laid = Retrieved.prepend(f, docs, prompt);
        int sep = f.special("<reserved08706>");
        int[] doc0 = RequestRunner.concat(f.text("doc 0"), f.image(RequestsTest.testImage()));
        int[] doc1 = RequestRunner.concat(f.text("doc 1"), f.image(RequestsTest.testImage()));
        int[] expected = RequestRunner.concat(new int[]{f.bos()}, doc0, new int[]{sep}, doc1, new int[]{sep},
                f.text("a cat"), new int[]{37});
        assertThat(laid).containsExactly(expected);
    }

    @Test
    void everyRequestTypeRetrievesAndReportsItsDocuments() {
        GeneratedImage img = model.textToImage("a cat").retrieve(RETRIEVER, 1).seed(1).generate();
        assertThat(img.documents()).extracting(Retrieval.Document::id).containsExactly("d0");
        GeneratedText t = model.caption(RequestsTest.testImage()).retrieve(RETRIEVER, 2).maxTokens(3).generate();
        assertThat(t.documents()).hasSize(2);
        GeneratedDocument d = model.generate(Prompt.of("a dog")).retrieve(RETRIEVER, 1).maxTokens(3).generate();
        assertThat(d.documents()).hasSize(1);
        assertThat(queries).contains("a cat", "a dog");
        GeneratedImage without = model.textToImage("a cat").seed(1).generate();
        assertThat(without.documents()).isEmpty();
        assertThat(loaded.engine().openCaches.get()).isZero();
    }
}
