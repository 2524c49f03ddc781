package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.cpu.CpuEngine;
import dev.cm3leon.tokenizer.TextTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import static dev.cm3leon.testing.Distributions.kl;
import static dev.cm3leon.testing.Distributions.logSoftmax;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Weights quantized at load against the model as stored, on the trained demo model: its next-token distributions are
 * peaked, unlike the random fixture's, so top-1 agreement measures quantization rather than near-ties. 72 captions,
 * each followed by 64 image tokens sampled from the unquantized model (seeded, temperature 1); every image position
 * is compared (top-1 agreement, KL(p ‖ p_quantized)). The numbers go to {@code target/demo-quantization.txt}.
 */
class DemoModelQuantizationTest {
    private static final Path DEMO = Path.of("demo-model");
    private static final int IMAGE_TOKENS = 64;
    static SafetensorsCheckpoint checkpoint;
    static DecoderWeights weights;
    /** A caption's ids then its image tokens, and where the image starts (begin-of-image on). */
    record Sequence(int[] ids, int firstImagePosition) {
    }

    static List<Sequence> sequences = new ArrayList<>();
    static List<float[]> reference = new ArrayList<>();
    static final StringBuilder REPORT = new StringBuilder();

    record Accuracy(int positions, double top1, double meanKl) {
    }

    @BeforeAll
    static void sampleSequences() throws IOException {
        ModelConfig c = ModelConfig.read(DEMO.resolve("config.json"));
        checkpoint = SafetensorsCheckpoint.open(DEMO);
        weights = DecoderWeights.from(checkpoint, c);
        TextTokenizer tok = TextTokenizer.load(DEMO.resolve("tokenizer.json"));
        JsonNode prompt = DemoModelReferenceTest.reference().get("greedy_text_to_image").get("prompt_ids");
        int bos = prompt.get(0).asInt(), boi = prompt.get(prompt.size() - 1).asInt();
        SplittableRandom rnd = new SplittableRandom(7);
        try (CpuEngine engine = new CpuEngine(weights)) {
            for (String colour : List.of("red", "green", "blue", "yellow", "purple", "orange")) {
                for (String shape : List.of("circle", "square", "triangle", "cross")) {
                    for (String place : List.of("at the top left", "in the middle", "at the bottom right")) {
                        int[] caption = tok.encode("a large " + colour + " " + shape + " " + place, false);
                        int[] ids = new int[caption.length + 2 + IMAGE_TOKENS];
                        ids[0] = bos;
                        System.arraycopy(caption, 0, ids, 1, caption.length);
                        ids[caption.length + 1] = boi;
                        sample(engine, ids, caption.length + 2, rnd);
                        sequences.add(new Sequence(ids, caption.length + 1));
                        reference.add(allLogits(engine, ids));
                    }
                }
            }
        }
    }

    @AfterAll
    static void writeReport() throws IOException {
        checkpoint.close();
        Path target = Path.of("target");
        if (Files.isDirectory(target)) Files.writeString(target.resolve("demo-quantization.txt"), REPORT);
        System.out.print(REPORT);
    }

    @Test
    void q8_0AgreesWithTheStoredWeightsOnTheTopTokenAlmostEverywhere() {
        Accuracy a = measure("q8_0");
        assertThat(a.top1()).isGreaterThanOrEqualTo(0.98);
        assertThat(a.meanKl()).isLessThan(1e-2);
    }

    @Test
    void q4_0IsMeasuredToo() {
        assertThat(measure("q4_0").positions()).isPositive();
    }

    /** Fills {@code ids[from..]} by sampling the engine's next-token distribution. */
    private static void sample(CpuEngine engine, int[] ids, int from, SplittableRandom rnd) {
        try (KvCache cache = engine.newCache(ids.length)) {
            float[] logits = engine.forward(List.of(StreamStep.last(cache, Arrays.copyOf(ids, from))))[0];
            for (int n = from; n < ids.length; n++) {
                double[] lp = logSoftmax(logits);
                double u = rnd.nextDouble();
                int t = 0;
                while (t < lp.length - 1 && (u -= Math.exp(lp[t])) > 0) t++;
                ids[n] = t;
                if (n + 1 < ids.length) logits = engine.forward(List.of(StreamStep.last(cache, t)))[0];
            }
        }
    }

    private static float[] allLogits(CpuEngine engine, int[] ids) {
        try (KvCache cache = engine.newCache(ids.length)) {
            return engine.forward(List.of(new StreamStep(cache, ids, StreamStep.Logits.ALL)))[0];
        }
    }

    private static Accuracy measure(String type) {
        int positions = 0, agree = 0;
        double klSum = 0;
        try (CpuEngine q = new CpuEngine(weights, EngineOptions.defaults().quantize(type))) {
            int v = weights.config().vocabSize();
            for (int s = 0; s < sequences.size(); s++) {
                Sequence seq = sequences.get(s);
                float[] ql = allLogits(q, seq.ids()), fl = reference.get(s);
                for (int t = seq.firstImagePosition(); t < seq.ids().length; t++) {
                    float[] a = Arrays.copyOfRange(fl, t * v, (t + 1) * v), b = Arrays.copyOfRange(ql, t * v, (t + 1) * v);
                    if (Cm3Leon.argmax(a) == Cm3Leon.argmax(b)) agree++;
                    klSum += kl(a, b);
                    positions++;
                }
            }
        }
        Accuracy acc = new Accuracy(positions, (double) agree / positions, klSum / positions);
        REPORT.append(String.format(Locale.ROOT, "%s vs stored weights on the demo model (%d image positions): top-1 agreement %.2f %%, KL mean %.2e%n",
                type, positions, 100 * acc.top1(), acc.meanKl()));
        return acc;
    }
}
