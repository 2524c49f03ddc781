package dev.cm3leon.cli;

import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The memory and embed commands end to end on the tiny CLIP fixture. */
class MemoryCommandTest {
    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void buildsABankSkippingBrokenImagesThenSearchesIt() throws IOException {
        Files.copy(Fixtures.path("chameleon/image.png"), dir.resolve("a.png"));
        Files.copy(Fixtures.path("clip/image_resize_50x37.png"), dir.resolve("b.png"));
        Files.writeString(dir.resolve("broken.png"), "not an image");
        Files.writeString(dir.resolve("pairs.jsonl"), """
                {"id": "a", "caption": "a photo of a cat", "image": "a.png"}
                {"id": "b", "caption": "two dogs playing in the snow", "image": "b.png"}
                {"id": "c", "caption": "a red car", "image": "broken.png"}
                {"id": "d", "caption": "a red car"}
                """);
        String clip = Fixtures.path("clip/model").toString(), bank = dir.resolve("bank").toString();

        CliRun add = run("memory", "add", "--bank", bank, "--clip", clip, "--captions", dir.resolve("pairs.jsonl").toString(), "--batch", "2");
        assertThat(add.exit()).isZero();
        assertThat(add.out()).contains("added 3 documents");

        CliRun stats = run("memory", "stats", "--bank", bank);
        assertThat(stats.out()).containsPattern("documents:\\s+3").containsPattern("dimension:\\s+16").containsPattern("format version:\\s+1");

        CliRun search = run("memory", "search", "--bank", bank, "--clip", clip, "--image", dir.resolve("b.png").toString(), "-k", "2");
        assertThat(search.exit()).isZero();
        assertThat(search.out().lines()).hasSizeBetween(1, 2).allMatch(l -> l.matches("\\d\t-?\\d\\.\\d{4}\t\\w\t.*"));

        CliRun narrow = run("memory", "search", "--bank", bank, "--clip", clip, "--image", dir.resolve("b.png").toString(), "-k", "2", "--ef-search", "2");
        assertThat(narrow.exit()).isZero();
        assertThat(narrow.out()).isEqualTo(search.out());
        assertThat(run("memory", "search", "--bank", bank, "--clip", clip, "--text", "a cat", "--ef-search", "0").err()).contains("efSearch must be at least 1, found 0");
    }

    @Test
    void embedPrintsTheNormalisedEmbedding() {
        CliRun r = run("inspect", "embed", "--clip", Fixtures.path("clip/model").toString(), "--text", "a photo of a cat");
        assertThat(r.exit()).isZero();
        String[] parts = r.out().strip().split(",");
        assertThat(parts).hasSize(16);
        double norm = 0;
        for (String p : parts) norm += Math.pow(Double.parseDouble(p), 2);
        assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
        float[] expected = Fixtures.f32("clip", Fixtures.json("clip/golden.json").get("forward").get("text_embeds"));
        for (int i = 0; i < 16; i++) assertThat(Float.parseFloat(parts[i])).isCloseTo(expected[i], org.assertj.core.data.Offset.offset(1e-5f));
    }
}
