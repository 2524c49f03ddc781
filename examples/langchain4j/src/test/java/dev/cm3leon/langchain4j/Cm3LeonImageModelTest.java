package dev.cm3leon.langchain4j;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedImage;
import dev.cm3leon.Prompt;
import dev.cm3leon.decode.ImageLayout;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.langchain4j.model.image.ImageModel;
import dev.langchain4j.model.output.Response;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.cm3leon.langchain4j.DemoModel.assertSamePixels;
import static dev.cm3leon.langchain4j.DemoModel.decode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link Cm3LeonImageModel} through LangChain4j's {@link ImageModel} interface, against the library's own results. */
class Cm3LeonImageModelTest {
    static final String PROMPT = "a large red circle at the top left";
    static Cm3Leon model;
    static ImageModel images;

    @BeforeAll
    static void load() {
        model = DemoModel.load();
        images = Cm3LeonImageModel.builder().model(model).seed(7L).build();
    }

    @AfterAll
    static void close() {
        ((Cm3LeonImageModel) images).close();     // borrowed: the model stays open until the test closes it
        model.close();
    }

    @Test
    void generatesTheImageTheLibraryDrawsForTheSameSeed() {
        Response<Image> r = images.generate(PROMPT);
        GeneratedImage expected = model.textToImage(PROMPT).seed(7).generate();
        assertSamePixels(decode(r.content()), expected.image());
        assertThat(r.metadata()).containsEntry(Cm3LeonImageModel.SEED, 7L).containsKeys(Cm3LeonImageModel.DECODE_MILLIS);
        assertThat(r.tokenUsage().outputTokenCount()).isEqualTo(expected.tokens().length);
    }

    @Test
    void withoutASeedEachCallDrawsOneAndReportsIt() {
        try (var unseeded = Cm3LeonImageModel.builder().model(model).build()) {
            Response<Image> a = unseeded.generate(PROMPT), b = unseeded.generate(PROMPT);
            long seedA = (Long) a.metadata().get(Cm3LeonImageModel.SEED);
            assertThat(seedA).isNotEqualTo(b.metadata().get(Cm3LeonImageModel.SEED));
            assertSamePixels(decode(a.content()), model.textToImage(PROMPT).seed(seedA).generate().image());
        }
    }

    @Test
    void nSamplesComeBestFirstWithTheirScores() {
        Response<List<Image>> r = images.generate(PROMPT, 4);
        assertThat(r.content()).hasSize(4);
        GeneratedImage expected = model.textToImage(PROMPT).seed(7).samples(4).generate();
        @SuppressWarnings("unchecked") List<Double> scores = (List<Double>) r.metadata().get(Cm3LeonImageModel.SCORES);
        // the demo model ships a CLIP, which ranks the samples by default
        assertThat(scores).hasSize(4).isSortedAccordingTo((x, y) -> Double.compare(y, x));
        assertThat(scores.getFirst()).isCloseTo(expected.score(), org.assertj.core.data.Offset.offset(1e-6));   // CLIP in f32, summed in parallel
        assertSamePixels(decode(r.content().getFirst()), expected.image());
        assertThat(r.content().stream().map(DemoModel::decode).map(DemoModel::pixels).map(java.util.Arrays::hashCode).distinct())
                .as("different samples").hasSizeGreaterThan(1);
    }

    @Test
    void aConfiguredScorerRanksTheSamples() {
        // a scorer that prefers red pixels: the first image must be the reddest
        try (var byRed = Cm3LeonImageModel.builder().model(model).seed(3L).scorer((prompt, img) -> redShare(img)).build()) {
            List<Image> ranked = byRed.generate(PROMPT, 4).content();
            double[] red = ranked.stream().map(DemoModel::decode).mapToDouble(Cm3LeonImageModelTest::redShare).toArray();
            for (int i = 1; i < red.length; i++) assertThat(red[i - 1]).isGreaterThanOrEqualTo(red[i]);
        }
    }

    @Test
    void editRedrawsTheImageAsTheLibraryDoes() {
        BufferedImage source = model.textToImage(PROMPT).seed(1).generate().image();
        Response<Image> r = images.edit(DemoModel.asLangChain4j(source), "make it blue");
        assertSamePixels(decode(r.content()), model.edit(source, "make it blue").seed(7).generate().image());
    }

    @Test
    void aMaskedEditInfillsTheMaskedCellsOnly() {
        BufferedImage source = model.textToImage(PROMPT).seed(1).generate().image();
        ImageLayout.Grid grid = model.format().imageLayout().bucketFor(source.getWidth(), source.getHeight());
        // white on black over the image's top right quarter
        BufferedImage mask = whiteOnBlack(source.getWidth(), source.getHeight(), source.getWidth() / 2, 0, source.getWidth() / 2, source.getHeight() / 2);
        Response<Image> r = images.edit(DemoModel.asLangChain4j(source), DemoModel.asLangChain4j(mask), "a large red circle");
        assertThat(r.metadata()).containsEntry("region", List.of(grid.cols() / 2, 0, grid.cols(), grid.rows() / 2));
        Prompt expectedPrompt = Prompt.of("a large red circle", Prompt.maskedImage(source, grid.cols() / 2, 0, grid.cols(), grid.rows() / 2));
        BufferedImage expected = model.infill(expectedPrompt).seed(7).generate().filled().segments().stream()
                .filter(s -> s instanceof Prompt.Image).map(s -> ((Prompt.Image) s).image()).findFirst().orElseThrow();
        BufferedImage edited = decode(r.content());
        assertSamePixels(edited, expected);
        // the unmasked half is the source's own codes, decoded: the bottom rows stay close to the source
        assertThat(meanAbsDifference(edited, source, 0, source.getHeight() * 3 / 4, source.getWidth(), source.getHeight()))
                .isLessThan(meanAbsDifference(edited, model.textToImage("a small blue square at the middle center").seed(2).generate().image(),
                        0, source.getHeight() * 3 / 4, source.getWidth(), source.getHeight()) + 1e-9);
    }

    @Test
    void aMaskOverMoreRowsThanTheCheckpointHasSentinelsIsRefused() {
        BufferedImage source = model.textToImage(PROMPT).seed(1).generate().image();
        BufferedImage mask = whiteOnBlack(source.getWidth(), source.getHeight(), 0, 0, source.getWidth(), source.getHeight());
        assertThatThrownBy(() -> images.edit(DemoModel.asLangChain4j(source), DemoModel.asLangChain4j(mask), "a circle"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("mask covers 8 rows").hasMessageContaining("at most 4");
    }

    static BufferedImage whiteOnBlack(int w, int h, int x, int y, int rw, int rh) {
        BufferedImage mask = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = mask.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(x, y, rw, rh);
        g.dispose();
        return mask;
    }

    static double meanAbsDifference(BufferedImage a, BufferedImage b, int x0, int y0, int x1, int y1) {
        long sum = 0;
        for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
                int p = a.getRGB(x, y), q = b.getRGB(x, y);
                for (int shift = 0; shift < 24; shift += 8) sum += Math.abs(((p >> shift) & 0xff) - ((q >> shift) & 0xff));
            }
        }
        return (double) sum / ((x1 - x0) * (y1 - y0) * 3);
    }

    @Test
    void transparentPixelsOfAMaskMarkTheRegion() {
        ImageLayout.Grid grid = new ImageLayout.Grid(8, 8);
        BufferedImage mask = new BufferedImage(32, 32, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) mask.setRGB(x, y, 0xff000000);
        for (int y = 5; y < 9; y++) for (int x = 13; x < 20; x++) mask.setRGB(x, y, 0x00ffffff);   // cells x 3..4, y 1..2
        assertThat(MaskRegion.of(mask, grid)).isEqualTo(new Prompt.GridRegion(3, 1, 5, 3));
        BufferedImage blank = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        assertThatThrownBy(() -> MaskRegion.of(blank, grid)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("marks no pixel");
    }

    @Test
    void concurrentCallsGiveTheirSequentialResults() throws Exception {
        List<String> prompts = List.of(PROMPT, "a small blue square at the middle center", "a large green triangle at the bottom right");
        List<int[]> sequential = prompts.stream().map(p -> DemoModel.pixels(decode(images.generate(p).content()))).toList();
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            List<Future<int[]>> futures = pool.invokeAll(prompts.stream()
                    .<Callable<int[]>>map(p -> () -> DemoModel.pixels(decode(images.generate(p).content()))).toList());
            for (int i = 0; i < prompts.size(); i++) assertThat(futures.get(i).get()).isEqualTo(sequential.get(i));
        }
    }

    @Test
    void badInputIsRefusedClearly() {
        assertThatThrownBy(() -> images.generate(" ")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prompt is empty");
        assertThatThrownBy(() -> images.generate(PROMPT, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n must be");
        Image remote = Image.builder().url("https://example.com/cat.png").build();
        assertThatThrownBy(() -> images.edit(remote, "make it blue")).isInstanceOf(UnsupportedFeatureException.class)
                .hasMessageContaining("https: URLs");
        Image garbage = Image.builder().base64Data("bm90IGFuIGltYWdl").mimeType("image/png").build();
        assertThatThrownBy(() -> images.edit(garbage, "make it blue")).isInstanceOf(dev.cm3leon.Cm3LeonException.class);
    }

    @Test
    void aModelItLoadedIsClosedWithIt(@TempDir Path tmp) {
        Cm3LeonImageModel own = Cm3LeonImageModel.builder().modelPath(DemoModel.FOLDER).seed(7L).build();
        assertThat(DemoModel.decode(own.generate(PROMPT).content()).getWidth()).isPositive();
        own.close();
        own.close();   // idempotent
        assertThatThrownBy(() -> own.generate(PROMPT)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> Cm3LeonImageModel.builder().build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("modelPath");
        // the shared model stays usable for the other adapters
        try (var borrowed = Cm3LeonImageModel.builder().model(model).seed(7L).build()) {
            borrowed.close();
        }
        assertThat(model.textToImage(PROMPT).seed(7).generate().image()).isNotNull();
    }

    static double redShare(BufferedImage img) {
        long red = 0;
        for (int p : DemoModel.pixels(img)) {
            int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
            if (r > 150 && g < 100 && b < 100) red++;
        }
        return (double) red / (img.getWidth() * img.getHeight());
    }
}
