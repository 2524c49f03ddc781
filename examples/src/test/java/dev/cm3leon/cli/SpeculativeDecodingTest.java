package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedImage;
import dev.cm3leon.InvalidRequestException;
import dev.cm3leon.Speculation;
import dev.cm3leon.engine.EngineOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Speculative Jacobi decoding through the fluent API on the trained demo model, where drafts do get accepted: the
 * image keeps its exact token layout, takes fewer passes than tokens, and reproduces from its seed and window. (That
 * the tokens keep plain sampling's distribution is {@code SpeculativeJacobiTest}'s chi-square test.)
 */
class SpeculativeDecodingTest {
    static final Path DEMO = Path.of(System.getProperty("cm3leon.demoModel", "demo-model"));
    static Cm3Leon model;

    @BeforeAll
    static void load() {
        model = Cm3Leon.load(DEMO, EngineOptions.defaults().withBackend("cpu"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void anImageDrawnSpeculativelyHasItsLayoutTakesFewerPassesAndReproduces() {
        GeneratedImage a = model.textToImage("a red circle at the top left").guidance(2.0).samples(2).speculative(8).seed(4).generate();
        GeneratedImage b = model.textToImage("a red circle at the top left").guidance(2.0).samples(2).speculative(8).seed(4).generate();
        assertThat(a.tokens()).hasSize(65);
        assertThat(a.tokens()[64]).isEqualTo(model.format().vocabulary().endOfImage());
        for (int i = 0; i < 64; i++) assertThat(model.format().vocabulary().isImageToken(a.tokens()[i])).isTrue();
        assertThat(a.samples()).hasSize(2);
        for (int s = 0; s < 2; s++) assertThat(a.samples().get(s).tokens()).containsExactly(b.samples().get(s).tokens());
        Speculation sp = a.speculation().orElseThrow();
        assertThat(sp.window()).isEqualTo(8);
        assertThat(sp.passes()).isLessThan(65);
        assertThat(sp.accepted()[0]).isPositive();
        // The prefill and one pass per window; each pass timed as a decode step.
        assertThat(a.timings().forwardPasses()).isEqualTo(sp.passes() + 1);
        assertThat(a.timings().forward()).isPositive();
        assertThat(a.timings().forwardPerStep()).isEqualTo(a.timings().forward().dividedBy(sp.passes()));
        assertThat(a.timings().firstSteps()).isPositive();
        assertThat(a.timings().sampling()).isPositive();
        GeneratedImage plain = model.textToImage("a red circle at the top left").guidance(2.0).seed(4).generate();
        assertThat(plain.speculation()).isEmpty();
        assertThat(plain.timings().steps()).isEqualTo(65);
    }

    @Test
    void aTextRequestAndAWindowOutOfRangeAreRefused() {
        assertThatThrownBy(() -> model.caption(model.textToImage("a").generate().image()).speculative(4))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("image tokens");
        assertThatThrownBy(() -> model.textToImage("a").speculative(65)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("0 (off) to 64");
    }

    @Test
    void theCommandLineReportsItsPasses() {
        CliRun r = CliRun.of("text-to-image", "a blue square", "--model", DEMO.toString(), "--speculative", "4",
                "-o", System.getProperty("java.io.tmpdir") + "/sjd-cli-test.png");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("\\d+ passes over the weights \\(Speculation\\[window 4");
    }
}
