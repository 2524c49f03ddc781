package dev.cm3leon;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * CM3 infilling mechanics on the fixture weights, with two text ids renamed to sentinels in the config: masks become
 * sentinels in place, spans are generated after the repeated sentinel, and the result is spliced back.
 */
class InfillTest {
    static FixtureModels.Loaded loaded;
    static Path dir;

    @BeforeAll
    static void load() throws IOException {
        dir = Files.createTempDirectory("infill");
        loaded = FixtureModels.load(FixtureModels.configWithSentinels(dir));
    }

    @AfterAll
    static void close() {
        loaded.model().close();
    }

    @Test
    void textMaskBecomesASentinelAndItsSpanIsGeneratedAfterTheRepeatedSentinel() {
        Cm3Leon m = loaded.model();
        GeneratedInfill r = m.infill(Prompt.of("a big ", Prompt.mask(), " on top")).maxTokens(6).generate();
        assertThat(r.spans()).hasSize(1);
        GeneratedInfill.Span span = r.spans().getFirst();
        assertThat(span.tokens().length).isBetween(1, 6);
        assertThat(r.text()).startsWith("a big ").endsWith(" on top");
        assertThat(r.text()).isEqualTo("a big " + span.text() + " on top");
        // The span is what greedy decoding gives after: <s> text <sentinel:0> text <sentinel:0>
        var f = m.format();
        int[] prefix = RequestRunner.concat(new int[]{0}, f.text("a big "), new int[]{126}, f.text(" on top"), new int[]{126});
        int[] expected = m.generateGreedy(prefix, 6);
        int n = 0;
        while (n < expected.length && expected[n] != 127 && expected[n] != 2) n++;
        assertThat(java.util.Arrays.copyOf(span.tokens(), Math.min(span.tokens().length, n)))
                .containsExactly(java.util.Arrays.copyOf(expected, n));
        assertThat(loaded.engine().openCaches.get()).isZero();
    }

    @Test
    void maskedImageRegionIsRegeneratedAsImageTokensAndRedrawn() {
        BufferedImage img = RequestsTest.testImage();
        GeneratedInfill r = loaded.model().infill(Prompt.of("x ", Prompt.maskedImage(img, 2, 3, 5, 5))).generate();
        assertThat(r.spans()).hasSize(2);                        // one run per masked row
        for (GeneratedInfill.Span s : r.spans()) {
            assertThat(s.codes()).hasSize(3);
            for (int code : s.codes()) assertThat(code).isBetween(0, 31);
        }
        Prompt.Image redrawn = (Prompt.Image) r.filled().segments().get(1);
        int[] before = new FixtureModels.StandInCodec().encode(img), after = new FixtureModels.StandInCodec().encode(redrawn.image());
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                boolean masked = y >= 3 && y < 5 && x >= 2 && x < 5;
                if (!masked) assertThat(after[y * 8 + x]).as("cell %d,%d", x, y).isEqualTo(before[y * 8 + x]);
                else assertThat(after[y * 8 + x]).isEqualTo(r.spans().get(y - 3).codes()[x - 2]);
            }
        }
    }
}
