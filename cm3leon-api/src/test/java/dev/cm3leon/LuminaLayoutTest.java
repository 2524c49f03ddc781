package dev.cm3leon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.CheckpointFolder;
import dev.cm3leon.checkpoint.MetaRelease;
import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.ImageLayout;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Lumina-mGPT's checkpoints and image layout, built from the fixture: its folder (QK-norm per model-parallel shard)
 * gives the logits of the HF copy of the same weights, and its layout (size tokens after begin-of-image, a newline
 * token after each row of codes, non-square grids) is laid out, parsed, generated and decoded with exact token counts.
 */
class LuminaLayoutTest {
    static final EngineOptions CPU = new EngineOptions("cpu", false);
    static final ObjectMapper JSON = new ObjectMapper();
    // Text ids the fixture's test tokenizer leaves unused, renamed to Lumina's layout tokens.
    static final int NEWLINE = 112, SIZE0 = 113, MAX_UNITS = 8;

    @TempDir
    static Path tmp;
    static Path hfPerShard, lumina;
    static FixtureModels.Loaded loaded;
    static Cm3Leon model;

    @BeforeAll
    static void write() throws IOException {
        Map<String, MetaRelease.Array> perShard = MetaRelease.withQkNormPerShard(MetaRelease.fixtureTensors(), 2);
        hfPerShard = MetaRelease.writeHf(tmp.resolve("hf-per-shard"), perShard);
        lumina = MetaRelease.writeLumina(tmp.resolve("lumina"), perShard, 2);
        Path layoutFolder = Files.createDirectories(tmp.resolve("layout"));
        writeTemplates(layoutFolder, 4, MAX_UNITS, new int[]{32, 32});
        loaded = FixtureModels.load(configWithLayoutTokens(layoutFolder), layoutFolder);
        model = loaded.model();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** The fixture's config with {@code <reserved08799>} (newline) and {@code <reserved08800>}… (sizes) at 112–121. */
    static Path configWithLayoutTokens(Path dir) throws IOException {
        ObjectNode c = (ObjectNode) JSON.readTree(Fixtures.path("chameleon/model/config.json").toFile());
        ObjectNode vm = (ObjectNode) c.get("vocabulary_map");
        for (int id = NEWLINE; id <= SIZE0 + MAX_UNITS; id++) vm.remove(String.format("txt%03d", id));
        vm.put("<reserved08799>", NEWLINE);
        for (int n = 0; n <= MAX_UNITS; n++) vm.put(String.format("<reserved%05d>", 8800 + n), SIZE0 + n);
        Path file = dir.resolve("config.json");
        JSON.writeValue(file.toFile(), c);
        return file;
    }

    /** Lumina's built-in templates for the stand-in codec's 4-pixel codes ({@code unitPixels} per size unit). */
    static void writeTemplates(Path dir, int unitPixels, int maxUnits, int[] imageSize) throws IOException {
        ObjectNode t = (ObjectNode) JSON.readTree(TaskTemplates.class.getResourceAsStream("templates/lumina.json"));
        ObjectNode layout = (ObjectNode) t.get("image_layout");
        layout.put("size_unit_pixels", unitPixels).put("max_size_units", maxUnits);
        layout.putArray("image_size").add(imageSize[0]).add(imageSize[1]);
        // The test tokenizer knows single characters only: a prompt of them, the layout exactly Lumina's.
        ((ObjectNode) t.get("templates")).put("text_to_image", "<s>{text}<reserved08706>{image_start}");
        JSON.writeValue(dir.resolve(TaskTemplates.FILE_NAME).toFile(), t);
    }

    static float[] logits(Path folder, int[] tokens) {
        try (Cm3Leon m = Cm3Leon.load(folder, CPU)) {
            return m.logits(tokens);
        }
    }

    @Test
    void aLuminaFolderIsDetectedAndGivesTheLogitsOfItsHfCopy() {
        assertThat(CheckpointFolder.detect(lumina).layout()).isEqualTo(CheckpointFolder.Layout.LUMINA);
        assertThat(CheckpointFolder.detect(hfPerShard).layout()).isEqualTo(CheckpointFolder.Layout.HF);
        JsonNode forward = Fixtures.json("chameleon/golden.json").get("forward");
        int[] tokens = Fixtures.ints(forward.get("mixed_ids").get("input_ids"));
        assertThat(Fixtures.maxAbsDiff(logits(lumina, tokens), logits(hfPerShard, tokens))).isLessThanOrEqualTo(1e-4);
        int[] prompt = Fixtures.ints(Fixtures.json("chameleon/golden.json").get("generate").get("cases").get("text").get("prompt_ids"));
        try (Cm3Leon a = Cm3Leon.load(lumina, CPU); Cm3Leon b = Cm3Leon.load(hfPerShard, CPU)) {
            assertThat(a.generateGreedy(prompt, 16)).containsExactly(b.generateGreedy(prompt, 16));
            assertThat(a.format().templates().family()).isEqualTo("lumina");
            assertThat(b.format().templates().family()).isEqualTo("chameleon");
        }
    }

    @Test
    void aFolderNamedAsItsDownloadDrawsAtTheSizeItWasTrainedAt() throws IOException {
        assertThat(TaskTemplates.forCheckpoint(lumina, "lumina").imageLayout().imageSize()).containsExactly(768, 768);
        for (var named : Map.of("Lumina-mGPT-7B-512", 512, "Lumina-mGPT-7B-1024", 1024, "lumina-mgpt-7b-768-omni", 768).entrySet()) {
            Path dir = Files.createDirectories(tmp.resolve(named.getKey()));
            assertThat(TaskTemplates.forCheckpoint(dir, "lumina").imageLayout().imageSize())
                    .containsExactly(named.getValue(), named.getValue());
        }
        // The Chameleon family states no size: its grid is the VQ-GAN's, whatever the folder is called.
        Path chameleon = Files.createDirectories(tmp.resolve("chameleon-7b-512"));
        assertThat(TaskTemplates.forCheckpoint(chameleon, "chameleon").imageLayout().imageSize()).isNull();
    }

    @Test
    void anInputImageIsEncodedOnTheGridOfItsBucket() {
        SequenceFormat f = model.format();
        BufferedImage wide = new BufferedImage(60, 20, BufferedImage.TYPE_INT_RGB);
        ImageLayout.Grid bucket = f.gridForInput(wide);
        assertThat(bucket.cols()).isGreaterThan(bucket.rows());
        int[] tokens = f.image(wide);
        assertThat(tokens).hasSize(f.imageLayout().length(bucket));
        assertThat(f.split(tokens).getFirst().grid()).isEqualTo(bucket);
    }

    @Test
    void aQkNormOfNeitherShapeIsNamed() throws IOException {
        Path bad = MetaRelease.writeLumina(tmp.resolve("lumina-3"), MetaRelease.withQkNormPerShard(MetaRelease.fixtureTensors(), 2), 2);
        MetaRelease.editConfig(bad, c -> c.put("model_parallel_size", 3));
        assertThatThrownBy(() -> Cm3Leon.load(bad, CPU).close()).isInstanceOf(CheckpointException.class)
                .hasMessageContaining("model.layers.0.self_attn.q_norm.weight").hasMessageContaining("[2, 16]")
                .hasMessageContaining("[4, 16]");
    }

    @Test
    void aNonSquareImageIsLaidOutWithItsSizeAndNewlineTokensAndReadBack() {
        SequenceFormat f = model.format();
        ImageLayout.Grid grid = new ImageLayout.Grid(2, 3);
        int[] codes = {1, 2, 3, 4, 5, 6};
        int[] tokens = f.image(codes, grid);
        assertThat(tokens).containsExactly(37, SIZE0 + 2, SIZE0 + 3,
                f.vocabulary().bpeIdOfCode(1), f.vocabulary().bpeIdOfCode(2), f.vocabulary().bpeIdOfCode(3), NEWLINE,
                f.vocabulary().bpeIdOfCode(4), f.vocabulary().bpeIdOfCode(5), f.vocabulary().bpeIdOfCode(6), NEWLINE, 36);
        List<SequenceFormat.Piece> pieces = f.split(tokens);
        assertThat(pieces).hasSize(1);
        assertThat(pieces.getFirst().grid()).isEqualTo(grid);
        assertThat(pieces.getFirst().codes()).containsExactly(codes);
        BufferedImage decoded = f.codec().decode(pieces.getFirst().codes(), grid.rows(), grid.cols());
        assertThat(decoded.getWidth()).isEqualTo(12);
        assertThat(decoded.getHeight()).isEqualTo(8);
    }

    @Test
    void textToImageAtANonSquareSizeGeneratesExactlyItsRowsNewlinesAndEndOfImage() {
        GeneratedImage img = model.textToImage("a red circle").size(12, 8).guidance(3.0).seed(5).generate();
        int[] t = img.tokens();
        assertThat(t).hasSize(2 * (3 + 1) + 1);
        for (int i = 0; i < t.length - 1; i++) {
            if (i % 4 == 3) assertThat(t[i]).isEqualTo(NEWLINE);
            else assertThat(model.format().vocabulary().isImageToken(t[i])).isTrue();
        }
        assertThat(t[t.length - 1]).isEqualTo(36);
        assertThat(img.codes()).hasSize(6);
        assertThat(img.image().getWidth()).isEqualTo(12);
        assertThat(img.image().getHeight()).isEqualTo(8);
    }

    @Test
    void theUnconditionalStreamIsTheImageHeaderAlone() {
        SequenceFormat f = model.format();
        ImageLayout.Grid grid = new ImageLayout.Grid(2, 3);
        int[] uncond = f.render(f.templates().template(TaskTemplates.UNCONDITIONAL_IMAGE), null, null, grid);
        assertThat(uncond).containsExactly(37, SIZE0 + 2, SIZE0 + 3);
        int[] full = f.render(f.templates().template(TaskTemplates.TEXT_TO_IMAGE), "ab", null, grid);
        assertThat(Arrays.copyOfRange(full, full.length - 4, full.length)).containsExactly(39, 37, SIZE0 + 2, SIZE0 + 3);
        assertThat(full[0]).isEqualTo(0);
    }

    @Test
    void luminasDefaultsAreItsRecommendedImageAndTextSampling() {
        TaskTemplates t = model.format().templates();
        assertThat(t.imageDefaults().topK()).isEqualTo(2000);
        assertThat(t.imageDefaults().guidance()).isEqualTo(4.0);
        assertThat(t.textDefaults().orElseThrow().topK()).isEqualTo(10);
        TaskTemplates chameleon = TaskTemplates.builtIn("chameleon").orElseThrow();
        assertThat(chameleon.imageDefaults().imageGuidance()).isEqualTo(1.2);
        assertThat(chameleon.imageDefaults().textGuidance()).isEqualTo(3.0);
        assertThat(chameleon.imageDefaults().temperature()).isEqualTo(0.7);
        assertThat(chameleon.textDefaults().orElseThrow().repetitionPenalty()).isEqualTo(1.2);
        DecodingOptions o = chameleon.imageDefaults().applyTo(new DecodingOptions());
        assertThat(o.guidance()).isEqualTo(new DecodingOptions.ThreeStream(1.2, 3.0));
    }

    @Test
    void sizesTheSizeTokensCannotStateAreRefusedBeforeAnyWork() {
        assertThatThrownBy(() -> model.textToImage("a").size(13, 8)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("multiple of the 4 pixels");
        assertThatThrownBy(() -> model.textToImage("a").size(40, 8)).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("at most 32 px");
    }

    @Test
    void aDefaultGridThatExceedsTheContextIsNamedWithItsField() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("too-big"));
        writeTemplates(dir, 8, MAX_UNITS, new int[]{64, 64});          // 16×16 codes and 16 newlines > 256 positions
        try (Cm3Leon m = FixtureModels.load(configWithLayoutTokens(dir), dir).model()) {
            assertThatThrownBy(() -> m.textToImage("a").generate()).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("image_layout.image_size").hasMessageContaining("context of 256");
        }
        writeTemplates(dir, 8, MAX_UNITS, new int[]{16, 16});          // 4×4 codes: fits
        try (Cm3Leon m = FixtureModels.load(configWithLayoutTokens(dir), dir).model()) {
            assertThat(m.textToImage("a").generate().tokens()).hasSize(4 * 5 + 1);
            assertThatThrownBy(() -> m.textToImage("a").size(20, 16)).isInstanceOf(InvalidRequestException.class)
                    .hasMessageContaining("multiples of 8 px");
        }
    }

    @Test
    void aSizeTokenOutOfTheVocabularyIsNamedWithItsField() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("out-of-range"));
        writeTemplates(dir, 4, 20, new int[]{32, 32});                 // size 20 would be id 113 + 20 = 133
        try (Cm3Leon m = FixtureModels.load(configWithLayoutTokens(dir), dir).model()) {
            assertThatThrownBy(() -> m.textToImage("a").generate()).isInstanceOf(CheckpointException.class)
                    .hasMessageContaining("image_layout.max_size_units").hasMessageContaining("outside the vocabulary of 128");
        }
    }

}
