package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.GenerationLoop;
import dev.cm3leon.decode.ModalityState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Requests running at once share engine passes (continuous batching), and each decodes exactly the tokens it decodes
 * alone: joining mid-way, with its prompt fed in chunks beside others' decode steps, waiting for room under a bound
 * on streams per pass, or beside a request that fails.
 */
class ContinuousBatchingTest {
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

    /** Sampled requests of every kind, with guidance (two streams) and several samples among them. */
    private static List<Supplier<int[]>> mixedRequests() {
        List<Supplier<int[]>> requests = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            int seed = i;
            requests.add(() -> model.textToImage("a red circle number " + seed).seed(seed).generate().tokens());
        }
        requests.add(() -> model.textToImage("two of them").samples(2).seed(7).generate().tokens());
        requests.add(() -> model.caption(RequestsTest.testImage()).temperature(0.9).seed(3).maxTokens(12).generate().tokens());
        return requests;
    }

    @Test
    void seededRequestsDecodeTheSameTokensBesideOthersAsAlone() throws Exception {
        List<Supplier<int[]>> requests = mixedRequests();
        List<int[]> alone = new ArrayList<>();
        long before = model.generationLoop().stats().passes();
        for (Supplier<int[]> r : requests) alone.add(r.get());
        long passesAlone = model.generationLoop().stats().passes() - before;

        before = model.generationLoop().stats().passes();
        List<int[]> together = runAtOnce(requests);
        long passesTogether = model.generationLoop().stats().passes() - before;

        for (int i = 0; i < requests.size(); i++) assertThat(together.get(i)).as("request %d", i).containsExactly(alone.get(i));
        // They shared passes: far fewer than one after another (6 requests, the longest 65 steps).
        assertThat(passesTogether).isLessThan(passesAlone / 2);
        assertThat(loaded.kvBytesInUse()).isZero();
    }

    /**
     * A loop with room for four streams and twelve tokens a pass: two 2-stream requests run at once, the others wait,
     * and every prompt (up to 40 tokens) is fed three tokens per stream per pass beside the running images.
     */
    @Test
    void promptChunksAndABoundOnStreamsLeaveEveryRequestsTokensAsAlone() throws Exception {
        try (GenerationLoop narrow = new GenerationLoop(model.engine(), new GenerationLoop.Limits(4, 12))) {
            Random rnd = new Random(11);
            List<Supplier<int[]>> requests = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                int[] prompt = imagePrompt(rnd, 5 + rnd.nextInt(36));
                long seed = i;
                requests.add(() -> narrow.run(List.of(sampledImage(prompt, seed)), GenerationControl.none(), null).tokens()[0]);
            }
            List<int[]> alone = new ArrayList<>();
            for (Supplier<int[]> r : requests) alone.add(r.get());
            List<int[]> together = runAtOnce(requests);
            for (int i = 0; i < requests.size(); i++) assertThat(together.get(i)).as("request %d", i).containsExactly(alone.get(i));
            assertThat(narrow.stats().runningStreams()).isZero();
        }
        assertThat(loaded.kvBytesInUse()).isZero();
    }

    @Test
    void aFailingOrCancelledRequestEndsAloneWhileTheOthersFinish() throws Exception {
        List<Supplier<int[]>> requests = mixedRequests();
        List<int[]> alone = new ArrayList<>();
        for (Supplier<int[]> r : requests) alone.add(r.get());

        List<Supplier<int[]>> withTrouble = new ArrayList<>(requests);
        withTrouble.add(() -> model.textToImage("breaks").seed(1).onProgress(p -> {
            if (p.done() == 5) throw new IllegalStateException("the listener broke");
        }).generate().tokens());
        withTrouble.add(() -> model.textToImage("late").seed(2).deadline(java.time.Duration.ofMillis(1)).generate().tokens());
        CompletableFuture<GeneratedImage> cancelled = model.textToImage("cancelled").seed(4).generateAsync();
        withTrouble.add(() -> {
            cancelled.cancel(true);
            return cancelled.join().tokens();
        });
        ExecutorService pool = Executors.newFixedThreadPool(withTrouble.size());
        try {
            List<Future<int[]>> futures = new ArrayList<>();
            for (Supplier<int[]> r : withTrouble) futures.add(pool.submit(r::get));
            for (int i = 0; i < requests.size(); i++) assertThat(futures.get(i).get()).as("request %d", i).containsExactly(alone.get(i));
            int n = requests.size();
            assertThatThrownBy(() -> futures.get(n).get()).hasCauseInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("the listener broke");
            assertThatThrownBy(() -> futures.get(n + 1).get()).hasCauseInstanceOf(CancellationException.class)
                    .hasMessageContaining("deadline");
            assertThatThrownBy(() -> futures.get(n + 2).get()).hasCauseInstanceOf(CancellationException.class);
        } finally {
            pool.shutdownNow();
        }
        long until = System.nanoTime() + 5_000_000_000L;
        while (loaded.kvBytesInUse() != 0 && System.nanoTime() < until) Thread.sleep(5);
        assertThat(loaded.kvBytesInUse()).isZero();
    }

    /** A prompt with an id outside the vocabulary fails its pass; the loop finds whose step it was. */
    @Test
    void aPassThatFailsForOneRequestFailsOnlyThatRequest() throws Exception {
        GenerationLoop loop = model.generationLoop();
        Random rnd = new Random(12);
        int[] good = imagePrompt(rnd, 9), bad = imagePrompt(rnd, 9);
        bad[3] = model.config().vocabSize() + 3;
        int[] alone = loop.run(List.of(sampledImage(good, 5)), GenerationControl.none(), null).tokens()[0];
        List<Supplier<int[]>> requests = List.of(
                () -> loop.run(List.of(sampledImage(good, 5)), GenerationControl.none(), null).tokens()[0],
                () -> loop.run(List.of(sampledImage(bad, 6)), GenerationControl.none(), null).tokens()[0]);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<int[]> ok = pool.submit(requests.get(0)::get), broken = pool.submit(requests.get(1)::get);
            assertThat(ok.get()).containsExactly(alone);
            assertThatThrownBy(broken::get).hasCauseInstanceOf(Cm3LeonException.class).hasMessageContaining("outside the vocabulary");
        } finally {
            pool.shutdownNow();
        }
        assertThat(loaded.kvBytesInUse()).isZero();
    }

    private static List<int[]> runAtOnce(List<Supplier<int[]>> requests) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(requests.size());
        try {
            List<Future<int[]>> futures = new ArrayList<>();
            for (Supplier<int[]> r : requests) futures.add(pool.submit(r::get));
            List<int[]> out = new ArrayList<>();
            for (Future<int[]> f : futures) out.add(f.get());
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** BOS, text ids, begin-of-image. */
    private static int[] imagePrompt(Random rnd, int length) {
        int[] p = new int[length];
        p[0] = model.config().bosId();
        for (int i = 1; i < length - 1; i++) p[i] = 40 + rnd.nextInt(70);
        p[length - 1] = model.format().vocabulary().beginOfImage();
        return p;
    }

    /** Sampled (temperature 1, top-p 0.9) with 2-stream guidance against the bare begin-of-image. */
    private static GenerationLoop.Sequence sampledImage(int[] prompt, long seed) {
        DecodingOptions o = new DecodingOptions().topP(0.9).guidance(3.0, DecodingOptions.Unconditional.BARE_BEGIN_OF_IMAGE);
        int[] bare = {model.config().bosId(), model.format().vocabulary().beginOfImage()};
        var layout = model.format().imageLayout();
        var modality = new ModalityState(model.format().vocabulary(), model.config().vocabSize(), layout,
                ModalityState.Output.IMAGE, layout.defaultGrid());
        return new GenerationLoop.Sequence(new int[][]{prompt, bare}, o.chainFor(0, 1), modality, new SplittableRandom(seed),
                layout.bodyLength(layout.defaultGrid()) + 1, model.config().eosId());
    }
}
