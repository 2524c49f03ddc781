package dev.cm3leon;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.SyntheticModel;
import dev.cm3leon.checkpoint.SyntheticVqGan;
import dev.cm3leon.checkpoint.VqConfig;
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
 * Chameleon's VQ-GAN with random weights), loaded through the same code as a downloaded checkpoint. The full-size
 * image (1024 tokens, 512×512 pixels) is drawn through Chameleon's VQ-GAN narrowed from 128 to 32 base channels, which
 * keeps every level, block, code and resolution but costs a sixteenth of the decoder's 0.8 TFLOP.
 */
class SyntheticImageModelTest {
    static final VqConfig NARROW = new VqConfig(3, 3, 32, new int[]{1, 1, 2, 2, 4}, 2, new int[0], 256, 256, 8192, 512, false);
    static Path root;

    @BeforeAll
    static void folder() throws IOException {
        root = Files.createTempDirectory("synthetic-image");
    }

    @AfterAll
    static void delete() throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    static Cm3Leon write(String name, VqConfig vq) {
        Path folder = SyntheticModel.of(SyntheticModel.Shape.parse("tiny-image"), 7, vq).writeSafetensors(root.resolve(name), DType.BF16);
        return Cm3Leon.load(folder, EngineOptions.defaults().withBackend("cpu"));
    }

    @Test
    void loadsAsAChameleonCheckpointWithMetasImageTokenizerBesideIt() {
        try (Cm3Leon model = write("chameleon", SyntheticVqGan.CHAMELEON)) {
            assertThat(model.config().vq()).contains(SyntheticVqGan.CHAMELEON);
            assertThat(model.format().vocabulary().imageTokenCount()).isEqualTo(8192);
            assertThat(model.vqGanFiles().weights()).contains(model.folder().resolve("vqgan.safetensors"));
            ImageCodec codec = model.imageCodec().orElseThrow();
            assertThat(codec.canDecode()).isTrue();
            assertThat(codec.gridSize()).isEqualTo(32);
            assertThat(codec.codebookSize()).isEqualTo(8192);
        }
    }

    @Test
    void drawsAFullSizeImageOf1024TokensAt512Pixels() {
        try (Cm3Leon model = write("narrow", NARROW)) {
            drawsAFullSizeImage(model);
        }
    }

    private static void drawsAFullSizeImage(Cm3Leon model) {
        GeneratedImage img = model.textToImage("a red circle").guidance(2.0).seed(5).generate();
        // 1024 image tokens, then the forced end-of-image.
        int[] tokens = img.tokens();
        assertThat(tokens.length).isEqualTo(1025);
        assertThat(tokens[1024]).isEqualTo(model.format().vocabulary().endOfImage());
        assertThat(Arrays.stream(tokens, 0, 1024).allMatch(t -> model.format().vocabulary().isImageToken(t))).isTrue();
        assertThat(img.codes()).hasSize(1024);
        assertThat(img.image().getWidth()).isEqualTo(512);
        assertThat(img.image().getHeight()).isEqualTo(512);
        Timings t = img.timings();
        assertThat(t.steps()).isEqualTo(1025);
        assertThat(t.streams()).isEqualTo(2);
        // One pass for the prompt, one per token fed back (the end-of-image is chosen but never fed).
        assertThat(t.forwardPasses()).isEqualTo(1025);
        assertThat(t.forward().plus(t.sampling())).isLessThanOrEqualTo(t.decode());
        assertThat(t.firstSteps()).isPositive();
        assertThat(t.lastSteps()).isPositive();
        assertThat(t.imageDecode()).isPositive();
        assertThat(t.imageEncode()).isZero();

    }
}
