package dev.cm3leon;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.SyntheticModel;
import dev.cm3leon.checkpoint.SyntheticVqGan;
import dev.cm3leon.engine.EngineOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The synthetic image model as {@code bench image} writes it (a two-layer transformer over Chameleon's vocabulary,
 * Chameleon's own VQ-GAN shape with random weights), loaded through the same code as a downloaded checkpoint: a
 * full-size image of 1024 tokens is generated and decoded to 512×512 pixels.
 */
class SyntheticImageModelTest {
    static Path folder;
    static Cm3Leon model;

    @BeforeAll
    static void write() throws IOException {
        folder = SyntheticModel.of(SyntheticModel.Shape.parse("tiny-image"), 7)
                .writeSafetensors(Files.createTempDirectory("synthetic-image").resolve("model"), DType.BF16);
        model = Cm3Leon.load(folder, EngineOptions.defaults().withBackend("cpu"));
    }

    @AfterAll
    static void close() throws IOException {
        model.close();
        try (Stream<Path> walk = Files.walk(folder.getParent())) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    @Test
    void loadsAsAChameleonCheckpointWithMetasImageTokenizerBesideIt() {
        assertThat(model.config().vq()).contains(SyntheticVqGan.CHAMELEON);
        assertThat(model.format().vocabulary().imageTokenCount()).isEqualTo(8192);
        assertThat(model.imageCodec().orElseThrow().canDecode()).isTrue();
        assertThat(model.imageCodec().orElseThrow().gridSize()).isEqualTo(32);
    }

    @Test
    void drawsAFullSizeImageOf1024TokensAt512Pixels() {
        GeneratedImage img = model.textToImage("a red circle").guidance(2.0).seed(5).generate();
        // 1024 image tokens, then the forced end-of-image.
        int[] tokens = img.tokens();
        assertThat(tokens.length).isEqualTo(1025);
        assertThat(tokens[1024]).isEqualTo(model.format().vocabulary().endOfImage());
        assertThat(Arrays.stream(tokens, 0, 1024).allMatch(t -> model.format().vocabulary().isImageToken(t))).isTrue();
        assertThat(img.codes()).hasSize(1024);
        assertThat(img.image().getWidth()).isEqualTo(512);
        assertThat(img.image().getHeight()).isEqualTo(512);
        assertThat(img.timings().steps()).isEqualTo(1025);
        assertThat(img.timings().streams()).isEqualTo(2);
    }
}
