package dev.cm3leon;

import dev.cm3leon.engine.KvCacheBudget;
import dev.cm3leon.engine.KvCacheMemoryException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How a request ends when it cannot finish: a deadline and an interrupt stop it within a step or two and return its
 * KV memory; a request whose KV caches do not fit the budget fails alone, before its first step, while others run.
 */
class RequestLifecycleTest {
    /** Room for a handful of ordinary requests (~80 KB of KV each on the fixture), not for 32 samples at once. */
    static final long BUDGET = 1 << 20;
    /**
     * What "promptly" means here: requests stop between steps, and a step of 16 streams on the fixture takes
     * milliseconds once warm; the margin is for slow, shared CI machines.
     */
    static final long PROMPT_MILLIS = 2_000;

    static FixtureModels.Loaded loaded;
    static Cm3Leon model;
    /** How long {@link #longRequest} takes, warm, on this machine. */
    static long warmNanos;

    @BeforeAll
    static void load(@TempDir Path dir) {
        loaded = FixtureModels.load(FixtureModels.configWithSentinels(dir), new KvCacheBudget(BUDGET));
        model = loaded.model();
        // Warm: a cold JVM interprets the Vector API kernels, and one step then takes seconds instead of milliseconds.
        longRequest().generate();
        long start = System.nanoTime();
        longRequest().generate();
        warmNanos = System.nanoTime() - start;
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** 8 samples with guidance: 16 streams, ~600 KB of KV, long enough to be stopped in the middle. */
    static TextToImageRequest longRequest() {
        return model.textToImage("a long one").samples(8).seed(9);
    }

    @Test
    void aDeadlineStopsARequestPromptlyAndReturnsItsMemory() {
        Duration deadline = Duration.ofNanos(Math.max(1_000_000, warmNanos / 4));
        long start = System.nanoTime();
        assertThatThrownBy(() -> longRequest().deadline(deadline).generate())
                .isInstanceOf(CancellationException.class).hasMessageContaining("deadline");
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(millis).isLessThan(deadline.toMillis() + PROMPT_MILLIS);
        assertThat(loaded.engine().openCaches.get()).isZero();
        assertThat(loaded.kvBytesInUse()).isZero();
    }

    @Test
    void anInterruptedThreadStopsPromptlyAndReturnsItsMemory() throws InterruptedException {
        CountDownLatch running = new CountDownLatch(1);
        AtomicReference<Throwable> ended = new AtomicReference<>();
        Thread worker = Thread.ofPlatform().start(() -> {
            try {
                longRequest().onProgress(p -> running.countDown()).generate();
            } catch (Throwable t) {
                ended.set(t);
            }
        });
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
        long start = System.nanoTime();
        worker.interrupt();
        worker.join(PROMPT_MILLIS);
        assertThat(worker.isAlive()).as("still running %d ms after the interrupt", PROMPT_MILLIS).isFalse();
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(PROMPT_MILLIS);
        assertThat(ended.get()).isInstanceOf(CancellationException.class).hasMessageContaining("interrupted");
        assertThat(loaded.engine().openCaches.get()).isZero();
        assertThat(loaded.kvBytesInUse()).isZero();
    }

    @Test
    void aRequestTooLargeForTheKvBudgetFailsAloneWhileOthersRun() {
        List<CompletableFuture<GeneratedImage>> ordinary = new ArrayList<>();
        for (int i = 0; i < 4; i++) ordinary.add(model.textToImage("ordinary " + i).seed(i).generateAsync());
        assertThatThrownBy(() -> model.textToImage("huge").samples(32).seed(3).generate())
                .isInstanceOf(KvCacheMemoryException.class).isInstanceOf(Cm3LeonException.class)
                .hasMessageContaining("KV cache budget");
        for (CompletableFuture<GeneratedImage> f : ordinary) assertThat(f.join().tokens()).hasSize(65);
        assertThat(loaded.kvBytesInUse()).isZero();
        assertThat(model.textToImage("after").seed(5).generate().tokens()).hasSize(65);
    }

    @Test
    void aCancelledAsyncRequestReturnsItsKvMemory() throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CompletableFuture<GeneratedImage> f = longRequest().onProgress(p -> running.countDown()).generateAsync();
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(loaded.kvBytesInUse()).isPositive();
        f.cancel(true);
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PROMPT_MILLIS);
        while (loaded.kvBytesInUse() != 0 && System.nanoTime() < until) Thread.sleep(5);
        assertThat(loaded.kvBytesInUse()).isZero();
        assertThat(loaded.engine().openCaches.get()).isZero();
    }
}
