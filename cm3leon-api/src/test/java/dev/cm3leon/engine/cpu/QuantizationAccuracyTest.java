package dev.cm3leon.engine.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
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

import static dev.cm3leon.testing.Distributions.kl;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Weights quantized at load against the f32 model on the chameleon fixture, every position of the forward cases:
 * top-1 agreement and KL(p_f32 ‖ p_quantized) per position. The numbers are written to
 * {@code target/quantization-accuracy.txt}.
 *
 * <p>The fixture's random weights give flat next-token distributions: 8 of its 286 positions have a top-1/top-2
 * margin under 0.015 logits, about what Q8_0's rounding moves a logit (median 0.014, 90th percentile 0.036). Those
 * near-ties can flip, so the bound asserted for Q8_0 is 98 % (measured: 98.6 %), not 99 %.
 */
class QuantizationAccuracyTest {
    static final List<String> CASES = List.of("text", "mixed_ids", "long_text");
    static List<int[]> inputs = new ArrayList<>();
    static List<float[]> reference = new ArrayList<>();
    static final StringBuilder REPORT = new StringBuilder();

    record Accuracy(int positions, double top1, double meanKl, double maxKl) {
    }

    @BeforeAll
    static void referenceLogits() {
        JsonNode forward = Fixtures.json("chameleon/golden.json").get("forward");
        try (Cm3Leon f32 = Cm3Leon.load(Fixtures.path("chameleon/model"), EngineOptions.defaults().withBackend("cpu"))) {
            for (String c : CASES) {
                int[] ids = Fixtures.ints(forward.get(c).get("input_ids"));
                inputs.add(ids);
                reference.add(f32.logits(ids));
            }
        }
    }

    @AfterAll
    static void writeReport() throws IOException {
        Path target = Path.of("target");
        if (Files.isDirectory(target)) Files.writeString(target.resolve("quantization-accuracy.txt"), REPORT);
        System.out.print(REPORT);
    }

    @Test
    void q8_0AgreesWithF32OnTheTopTokenExceptAtNearTies() {
        Accuracy a = measure("q8_0");
        assertThat(a.top1()).isGreaterThanOrEqualTo(0.98);
        assertThat(a.meanKl()).isLessThan(1e-3);
    }

    @Test
    void q4_0IsMeasuredToo() {
        Accuracy a = measure("q4_0");
        assertThat(a.positions()).isPositive();
        assertThat(a.meanKl()).isFinite();
    }

    private static Accuracy measure(String type) {
        int positions = 0, agree = 0;
        double klSum = 0, klMax = 0;
        try (Cm3Leon q = Cm3Leon.load(Fixtures.path("chameleon/model"), EngineOptions.defaults().withBackend("cpu").quantize(type))) {
            int v = q.config().vocabSize();
            for (int i = 0; i < inputs.size(); i++) {
                float[] ql = q.logits(inputs.get(i)), fl = reference.get(i);
                for (int t = 0; t < inputs.get(i).length; t++) {
                    float[] a = Arrays.copyOfRange(fl, t * v, (t + 1) * v), b = Arrays.copyOfRange(ql, t * v, (t + 1) * v);
                    if (Cm3Leon.argmax(a) == Cm3Leon.argmax(b)) agree++;
                    double kl = kl(a, b);
                    klSum += kl;
                    klMax = Math.max(klMax, kl);
                    positions++;
                }
            }
        }
        Accuracy acc = new Accuracy(positions, (double) agree / positions, klSum / positions, klMax);
        REPORT.append(String.format(Locale.ROOT, "%s vs f32 on the chameleon fixture (%d positions): top-1 agreement %.2f %%, KL mean %.2e, max %.2e%n",
                type, positions, 100 * acc.top1(), acc.meanKl(), acc.maxKl()));
        return acc;
    }
}
