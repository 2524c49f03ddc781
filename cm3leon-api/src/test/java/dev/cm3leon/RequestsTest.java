package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fluent requests on the fixture model's real weights (a stand-in codec draws the image tokens). */
class RequestsTest {
    static FixtureModels.Loaded loaded;
    static Cm3Leon model;

    @BeforeAll
    static void load() {
        loaded = FixtureModels.load();
        model = loaded.model();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static BufferedImage testImage() {
        BufferedImage img = new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) img.setRGB(x, y, ((x * 8) << 16) | ((y * 8) << 8) | 40);
        return img;
    }

    @Test
    void textToImageDrawsExactlyOneGridOfImageTokensThenEndOfImage() {
        GeneratedImage img = model.textToImage("a red circle").guidance(3.0).temperature(1.0).topP(0.9).seed(42).generate();
        var v = model.format().vocabulary();
        assertThat(img.tokens()).hasSize(65);
        for (int i = 0; i < 64; i++) assertThat(v.isImageToken(img.tokens()[i])).isTrue();
        assertThat(img.tokens()[64]).isEqualTo(v.endOfImage());
        assertThat(img.image().getWidth()).isEqualTo(32);
        assertThat(img.timings().streams()).isEqualTo(2);
        assertThat(loaded.engine().openCaches.get()).isZero();
    }

    @Test
    void aSeededRequestIsReproducibleAndSeedsDiffer() {
        int[] a = model.textToImage("a blue square").seed(7).generate().tokens();
        int[] b = model.textToImage("a blue square").seed(7).generate().tokens();
        int[] c = model.textToImage("a blue square").seed(8).generate().tokens();
        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(c);
    }

    @Test
    void concurrentSeededRequestsGiveTheSameOutputsAsSequentialRuns() throws Exception {
        int n = 32;
        List<int[]> sequential = new ArrayList<>();
        for (int i = 0; i < n; i++) sequential.add(request(i));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<int[]>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int seed = i;
                futures.add(pool.submit(() -> request(seed)));
            }
            for (int i = 0; i < n; i++) assertThat(futures.get(i).get()).as("request %d", i).containsExactly(sequential.get(i));
        } finally {
            pool.shutdownNow();
        }
        assertThat(loaded.engine().openCaches.get()).isZero();
    }

    private static int[] request(int seed) {
        return switch (seed % 3) {
            case 0 -> model.textToImage("shape " + seed).seed(seed).generate().tokens();
            case 1 -> model.imageToText(testImage()).temperature(0.8).seed(seed).maxTokens(12).generate().tokens();
            default -> model.textToImage("x").contrastive(3, 0.2).seed(seed).generate().tokens();
        };
    }

    @Test
    void samplesAreRerankedByTheScorer() {
        GeneratedImage img = model.textToImage("a cross").samples(4).seed(3)
                .rerankBy((text, image) -> (image.getRGB(0, 0) & 255)).generate();
        assertThat(img.samples()).hasSize(4);
        double best = img.samples().stream().mapToDouble(GeneratedImage.Sample::score).max().orElseThrow();
        assertThat(img.score()).isEqualTo(best);
        assertThat(img.timings().streams()).isEqualTo(8);
    }

    @Test
    void halfTopPHalfContrastiveDecodesBothKindsOfSamples() {
        GeneratedImage img = model.textToImage("a cross").samples(4).halfTopPHalfContrastive().seed(5)
                .rerankBy((t, i) -> 0).generate();
        assertThat(img.samples()).extracting(GeneratedImage.Sample::contrastive).containsExactly(false, true, false, true);
    }

    @Test
    void editRunsThreeStreamsOfGuidance() {
        GeneratedImage img = model.edit(testImage(), "make it blue").seed(1).generate();
        assertThat(img.timings().streams()).isEqualTo(3);
        assertThat(img.tokens()).hasSize(65);
    }

    @Test
    void captionIsGreedyAndStreamsItsTokens() {
        List<TokenEvent> events = new ArrayList<>();
        List<Progress> progress = new ArrayList<>();
        GeneratedText t = model.caption(testImage()).maxTokens(10).onProgress(progress::add).stream(events::add);
        GeneratedText again = model.caption(testImage()).maxTokens(10).generate();
        assertThat(t.tokens()).containsExactly(again.tokens());
        assertThat(events).extracting(TokenEvent::token).containsExactly(box(t.tokens()));
        assertThat(events).noneMatch(TokenEvent::inImage);
        assertThat(progress.getLast().percent()).isEqualTo(100.0);
        assertThat(t.tokens().length).isLessThanOrEqualTo(10);
    }

    private static Integer[] box(int[] a) {
        return java.util.Arrays.stream(a).boxed().toArray(Integer[]::new);
    }

    @Test
    void interleavedGenerationRuns() {
        GeneratedDocument doc = model.generate(Prompt.of("a picture: ", testImage(), " and")).maxTokens(8).seed(2).generate();
        assertThat(doc.tokens().length).isBetween(1, 8);
    }

    @Test
    void cancellingAnAsyncRequestStopsItAndReturnsItsMemory() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<GeneratedImage> f = model.textToImage("slow").samples(16)
                .onProgress(p -> started.countDown()).generateAsync();
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        f.cancel(true);
        assertThatThrownBy(f::get).isInstanceOf(CancellationException.class);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (loaded.engine().openCaches.get() != 0 && System.nanoTime() < until) Thread.sleep(10);
        assertThat(loaded.engine().openCaches.get()).isZero();
    }

    @Test
    void aDeadlineStopsTheRequest() {
        assertThatThrownBy(() -> model.textToImage("late").samples(64).deadline(Duration.ofMillis(1)).generate())
                .isInstanceOf(CancellationException.class).hasMessageContaining("deadline");
        assertThat(loaded.engine().openCaches.get()).isZero();
    }

    @Test
    void asyncRequestsComplete() throws ExecutionException, InterruptedException {
        assertThat(model.caption(testImage()).maxTokens(4).generateAsync().get().tokens()).isNotEmpty();
    }

    @Test
    void badRequestsFailBeforeAnyWork() {
        assertThatThrownBy(() -> model.textToImage("x").topP(0)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> model.textToImage("x").temperature(-1)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> model.textToImage("x").topK(0)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> model.textToImage("x").guidance(Double.NaN)).isInstanceOf(InvalidRequestException.class);
        assertThatThrownBy(() -> model.infill(Prompt.of("a ", Prompt.mask(), " b")))
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("sentinels");
        assertThatThrownBy(() -> model.generate(Prompt.of("x", Prompt.mask()))).isInstanceOf(InvalidRequestException.class);
        String longPrompt = "a".repeat(300);
        assertThatThrownBy(() -> model.textToImage(longPrompt).generate()).isInstanceOf(InvalidRequestException.class)
                .hasMessageContaining("303 tokens").hasMessageContaining("65 new").hasMessageContaining("context is 256");
        GeneratedImage truncated = model.textToImage(longPrompt).truncatePrompt(true).generate();
        assertThat(truncated.tokens()).hasSize(65);
    }

    @Test
    void maskedTextUnconditionalNeedsAMaskToken() {
        assertThatThrownBy(() -> model.textToImage("x").guidance(2.0, DecodingOptions.Unconditional.MASKED_TEXT).generate())
                .isInstanceOf(InvalidRequestException.class).hasMessageContaining("mask token");
    }
}
