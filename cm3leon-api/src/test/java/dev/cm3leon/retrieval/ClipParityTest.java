package dev.cm3leon.retrieval;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CLIP towers against HF transformers' CLIPModel on the clip fixture (float32): per-layer hidden states, pooled
 * outputs and projected embeddings |Δ| ≤ 1e-4, logits_per_image ≤ 1e-3.
 */
class ClipParityTest {
    static final double TOL = 1e-4;
    static final String BASE = "clip";
    static JsonNode forward;
    static ClipEmbedder clip;

    @BeforeAll
    static void load() {
        forward = Fixtures.json(BASE + "/golden.json").get("forward");
        clip = ClipEmbedder.load(Fixtures.path(BASE + "/model"));
    }

    @AfterAll
    static void close() {
        clip.close();
    }

    /** Records what a probe sees, in call order. */
    static final class Recorder implements ClipModel.Probe {
        final List<float[]> hidden = new ArrayList<>();
        float[] last, pooled;

        public void hiddenState(int index, float[] x, int rows) {
            hidden.add(x.clone());
        }

        public void lastHiddenState(float[] x, int rows) {
            last = x.clone();
        }

        public void pooled(float[] x, int rows) {
            pooled = x.clone();
        }

        /** [batch, layers+1, seq, d] as the fixture lays them out. */
        float[] stackedHidden(int batch, int seq, int d) {
            int layers = hidden.size();
            float[] out = new float[batch * layers * seq * d];
            for (int l = 0; l < layers; l++) {
                for (int b = 0; b < batch; b++) {
                    System.arraycopy(hidden.get(l), b * seq * d, out, ((b * layers + l) * seq) * d, seq * d);
                }
            }
            return out;
        }
    }

    @Test
    void textTowerMatchesTheReference() {
        JsonNode ids = forward.get("input_ids"), mask = forward.get("attention_mask");
        int batch = ids.size(), seq = ids.get(0).size(), d = clip.model().config().text().hiddenSize();
        int[] flatIds = new int[batch * seq], flatMask = new int[batch * seq];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(Fixtures.ints(ids.get(b)), 0, flatIds, b * seq, seq);
            System.arraycopy(Fixtures.ints(mask.get(b)), 0, flatMask, b * seq, seq);
        }
        // the tokenizer pads and truncates as the reference's call did
        JsonNode texts = forward.get("texts");
        for (int b = 0; b < batch; b++) {
            int[] tok = clip.tokens(texts.get(b).asText());
            assertThat(padded(tok, seq, clip.tokenizer().padId())).containsExactly(Fixtures.ints(ids.get(b)));
        }
        Recorder r = new Recorder();
        float[] features = clip.model().textFeatures(flatIds, flatMask, batch, seq, r);
        report("text_hidden_states", r.stackedHidden(batch, seq, d), TOL);
        report("text_last_hidden_state", r.last, TOL);
        report("text_pooled", r.pooled, TOL);
        report("text_embeds_unnormalized", features, TOL);
        float[] normalised = new float[features.length];
        for (int b = 0; b < batch; b++) {
            float[] e = clip.embedText(texts.get(b).asText());         // unpadded, one text alone
            System.arraycopy(e, 0, normalised, b * e.length, e.length);
        }
        report("text_embeds", normalised, TOL);
        float[] batched = new float[features.length];
        List<float[]> all = clip.embedTexts(List.of(texts.get(0).asText(), texts.get(1).asText(), texts.get(2).asText(), texts.get(3).asText()));
        for (int b = 0; b < batch; b++) System.arraycopy(all.get(b), 0, batched, b * all.get(b).length, all.get(b).length);
        report("text_embeds", batched, TOL);
    }

    /** OpenAI's configs say eos_token_id = 2; HF then pools at argmax(ids), here the same first end token. */
    @Test
    void legacyEosIdPoolsAtTheLargestId(@TempDir Path dir) throws IOException {
        Path model = Fixtures.path(BASE + "/model");
        String config = Files.readString(model.resolve("config.json")).replace("\"eos_token_id\": 753", "\"eos_token_id\": 2");
        Files.writeString(dir.resolve("config.json"), config);
        Files.copy(model.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        try (ClipModel legacy = ClipModel.load(dir)) {
            assertThat(legacy.config().poolsAtLargestId()).isTrue();
            JsonNode ids = forward.get("input_ids");
            int seq = ids.get(0).size();
            float[] all = new float[0];
            for (int b = 0; b < ids.size(); b++) {
                float[] f = legacy.textFeatures(Fixtures.ints(ids.get(b)), Fixtures.ints(forward.get("attention_mask").get(b)), 1, seq);
                all = Arrays.copyOf(all, all.length + f.length);
                System.arraycopy(f, 0, all, all.length - f.length, f.length);
            }
            report("text_embeds_unnormalized", all, TOL);
        }
    }

    @Test
    void visionTowerMatchesTheReference() throws IOException {
        float[] pixels = Fixtures.f32(BASE, forward.get("pixel_values"));
        int batch = 2, seq = clip.model().config().visionPositions(), d = clip.model().config().vision().hiddenSize();
        Recorder r = new Recorder();
        float[] features = clip.model().imageFeatures(pixels, batch, r);
        report("vision_hidden_states", r.stackedHidden(batch, seq, d), TOL);
        report("vision_last_hidden_state", r.last, TOL);
        report("vision_pooled", r.pooled, TOL);
        report("image_embeds_unnormalized", features, TOL);
        List<float[]> fromFiles = clip.embedImages(List.of(
                ImageIO.read(Fixtures.path("chameleon/image.png").toFile()),
                ImageIO.read(Fixtures.path("clip/image_resize_50x37.png").toFile())));
        report("image_embeds", concat(fromFiles), TOL);
    }

    @Test
    void logitsPerImageMatchTheReference() throws IOException {
        JsonNode texts = forward.get("texts");
        List<float[]> t = new ArrayList<>();
        texts.forEach(n -> t.add(clip.embedText(n.asText())));
        var images = List.of(ImageIO.read(Fixtures.path("chameleon/image.png").toFile()),
                ImageIO.read(Fixtures.path("clip/image_resize_50x37.png").toFile()));
        ClipScorer scorer = new ClipScorer(clip);
        float[] logits = new float[images.size() * t.size()];
        for (int i = 0; i < images.size(); i++) {
            for (int j = 0; j < t.size(); j++) logits[i * t.size() + j] = (float) scorer.logit(texts.get(j).asText(), images.get(i));
        }
        report("logits_per_image", logits, 1e-3);
        assertThat(clip.logitScale()).isCloseTo((float) forward.get("logit_scale_exp").asDouble(), org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void tokenDropoutIsSeededAndKeepsTheBeginAndEndTokens() {
        String text = "two dogs playing in the snow";                         // 9 BPE tokens: 2 dropped
        int[] ids = clip.tokens(text);
        List<Integer> inner = new ArrayList<>();
        for (int i = 1; i < ids.length - 1; i++) inner.add(ids[i]);
        List<Integer> kept = QueryDropout.apply(inner, 0.2, new java.util.SplittableRandom(5));
        int[] expected = new int[kept.size() + 2];
        expected[0] = ids[0];
        expected[expected.length - 1] = ids[ids.length - 1];
        for (int i = 0; i < kept.size(); i++) expected[i + 1] = kept.get(i);
        assertThat(kept).hasSize(7);
        assertThat(Fixtures.maxAbsDiff(clip.embedTextWithDropout(text, 0.2, new java.util.SplittableRandom(5)), clip.embedTokens(expected))).isLessThan(1e-6);
        assertThat(Fixtures.maxAbsDiff(clip.embedTextWithDropout(text, 0.0, new java.util.SplittableRandom(5)), clip.embedText(text))).isLessThan(1e-6);
        assertThat(Fixtures.maxAbsDiff(clip.embedTextWithDropout(text, 0.2, new java.util.SplittableRandom(5)), clip.embedText(text))).isGreaterThan(1e-3);
    }

    @Test
    void aDocumentEmbeddingIsTheNormalisedMeanOfItsParts() throws IOException {
        var image = ImageIO.read(Fixtures.path("chameleon/image.png").toFile());
        float[] t = clip.embedText("a photo of a cat"), i = clip.embedImage(image);
        float[] mean = new float[t.length];
        double norm = 0;
        for (int j = 0; j < t.length; j++) {
            mean[j] = (t[j] + i[j]) / 2;
            norm += mean[j] * mean[j];
        }
        for (int j = 0; j < t.length; j++) mean[j] /= (float) Math.sqrt(norm);
        Document doc = Document.of("d", "a photo of a cat", DocumentImage.of(image));
        assertThat(Fixtures.maxAbsDiff(clip.embed(doc), mean)).isLessThan(1e-6);
        assertThat(Fixtures.maxAbsDiff(clip.embedAll(List.of(doc, Document.ofText("t", "a photo of a cat"))).get(0), mean)).isLessThan(1e-6);
        // equal up to the order of float reductions, which differs between interpreted and compiled vector code
        assertThat(Fixtures.maxAbsDiff(clip.embed(Document.ofText("t", "a photo of a cat")), t)).isLessThan(1e-6);
    }

    private static void report(String name, float[] actual, double tol) {
        double diff = Fixtures.maxAbsDiff(actual, Fixtures.f32(BASE, forward.get(name)));
        System.out.printf("clip parity %-26s max|Δ| = %.3g%n", name, diff);
        assertThat(diff).as(name).isLessThanOrEqualTo(tol);
    }

    private static int[] padded(int[] ids, int seq, int pad) {
        int[] out = new int[seq];
        Arrays.fill(out, pad);
        System.arraycopy(ids, 0, out, 0, Math.min(seq, ids.length));
        return out;
    }

    private static float[] concat(List<float[]> rows) {
        int n = rows.getFirst().length;
        float[] out = new float[rows.size() * n];
        for (int i = 0; i < rows.size(); i++) System.arraycopy(rows.get(i), 0, out, i * n, n);
        return out;
    }
}
