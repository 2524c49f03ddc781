package dev.cm3leon;

import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A checkpoint folder as users have them: the HF Chameleon folder (encoder only, as HF's converter leaves it), Meta's
 * VQ-GAN decoder beside it, and a tokenizer.json. Requests then run end to end through the real image tokenizer.
 */
class CompleteCheckpointTest {
    static Path folder;
    static Cm3Leon model;

    @BeforeAll
    static void assemble() throws IOException {
        folder = Files.createTempDirectory("complete-checkpoint");
        Path hf = Fixtures.path("chameleon/model"), meta = Fixtures.path("vqgan");
        for (String f : new String[]{"config.json", "model.safetensors", "preprocessor_config.json", "generation_config.json"}) {
            Files.createSymbolicLink(folder.resolve(f), hf.resolve(f));
        }
        for (String f : new String[]{"vqgan.yaml", "vqgan.safetensors"}) Files.createSymbolicLink(folder.resolve(f), meta.resolve(f));
        Files.writeString(folder.resolve("tokenizer.json"), FixtureModels.tokenizerJson(), StandardCharsets.UTF_8);
        model = Cm3Leon.load(folder, EngineOptions.defaults().withBackend("cpu"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void textToImageDecodesThroughMetasDecoder() {
        GeneratedImage img = model.textToImage("a red circle").seed(3).generate();
        assertThat(img.image().getWidth()).isEqualTo(32);
        assertThat(img.image().getHeight()).isEqualTo(32);
        assertThat(img.codes()).hasSize(64);
        assertThat(java.util.Arrays.stream(img.codes()).allMatch(c -> c >= 0 && c < 32)).isTrue();
        // The image is the decoder's rendering of exactly these codes.
        BufferedImage again = model.imageCodec().orElseThrow().decode(img.codes(), 8, 8);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) assertThat(again.getRGB(x, y)).isEqualTo(img.image().getRGB(x, y));
    }

    @Test
    void captionReadsTheImageThroughTheRealEncoder() throws IOException {
        BufferedImage image = ImageIO.read(Fixtures.path("chameleon/image.png").toFile());
        int[] codes = model.imageCodec().orElseThrow().encode(image);
        var golden = Fixtures.json("chameleon/golden.json").get("image").get("vq");
        int[] expectedBpe = Fixtures.ints(golden.get("bpe_ids_rowmajor"));
        for (int i = 0; i < codes.length; i++) assertThat(model.format().vocabulary().bpeIdOfCode(codes[i])).isEqualTo(expectedBpe[i]);
        GeneratedText t = model.caption(image).greedy().repetitionPenalty(1.0).maxTokens(8).generate();
        // greedy caption = greedy continuation of <s> BOI image EOI
        int[] prompt = RequestRunner.concat(new int[]{0, 37}, expectedBpe, new int[]{36});
        int[] expected = model.generateGreedy(prompt, 8);
        assertThat(t.tokens()).containsExactly(expected);
    }

    @Test
    void encoderOnlyCheckpointRefusesToDrawButStillReads() throws IOException {
        try (Cm3Leon hfOnly = Cm3Leon.load(Fixtures.path("chameleon/model"), EngineOptions.defaults().withBackend("cpu"))) {
            assertThatThrownBy(() -> hfOnly.textToImage("x")).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("no VQ-GAN decoder").hasMessageContaining("vqgan.yaml").hasMessageContaining("--vqgan PATH");
            BufferedImage image = ImageIO.read(Fixtures.path("chameleon/image.png").toFile());
            assertThat(hfOnly.imageTokens(image)).hasSize(64);
        }
    }
}
