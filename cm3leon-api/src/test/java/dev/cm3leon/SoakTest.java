package dev.cm3leon;

import dev.cm3leon.testing.MemoryProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Load on one model: 64 concurrent seeded requests of every kind give exactly what they give one by one, and
 * requests cancelled at random steps (by their future, by an interrupt, by a deadline) leave heap and KV memory where
 * they were. CI runs a short soak; {@code -Dcm3leon.soak.minutes=5} soaks for five minutes and writes its numbers
 * to {@code target/soak-report.txt}.
 */
class SoakTest {
    static final int CONCURRENT = 64;
    static final double MINUTES = Double.parseDouble(System.getProperty("cm3leon.soak.minutes", "0"));
    /** Cancellations in CI; the long soak keeps going until its time is up, and does at least 1,000. */
    static final int CI_CANCELLATIONS = 120;
    /** The most tokens each kind of {@link #request} produces: an image grid and its end, or the text limit. */
    static final int[] MAX_TOKENS = {65, 12, 65, 65, 6, 8};

    static FixtureModels.Loaded loaded;
    static Cm3Leon model;
    static final List<String> report = new ArrayList<>();

    @BeforeAll
    static void load(@TempDir Path dir) {
        loaded = FixtureModels.load(FixtureModels.configWithSentinels(dir));
        model = loaded.model();
    }

    @AfterAll
    static void close() throws IOException {
        model.close();
        if (!report.isEmpty()) {
            Path out = Path.of("target/soak-report.txt");
            Files.createDirectories(out.getParent());
            Files.write(out, report);
            report.forEach(System.out::println);
        }
    }

    static BufferedImage testImage() {
        return RequestsTest.testImage();
    }

    /** Request {@code i}: one of six kinds, seeded by {@code i}; its result as comparable text. */
    static Request<?, ?> request(int i) {
        return switch (i % 6) {
            case 0 -> model.textToImage("shape " + i).seed(i);
            case 1 -> model.imageToText(testImage()).temperature(0.8).seed(i).maxTokens(12);
            case 2 -> model.textToImage("x").contrastive(3, 0.2).seed(i);
            case 3 -> model.edit(testImage(), "make it blue").seed(i);
            case 4 -> model.infill(Prompt.of("a big ", Prompt.mask(), " on top")).temperature(0.7).seed(i).maxTokens(6);
            default -> model.generate(Prompt.of("a picture: ", testImage(), " and")).maxTokens(8).seed(i);
        };
    }

    static String outcome(Object result) {
        return switch (result) {
            case GeneratedImage g -> "image " + Arrays.toString(g.tokens());
            case GeneratedText t -> "text " + Arrays.toString(t.tokens());
            case GeneratedInfill f -> "infill " + f.text() + " " + f.spans().stream().map(s -> Arrays.toString(s.tokens())).toList();
            case GeneratedDocument d -> "document " + Arrays.toString(d.tokens());
            default -> throw new AssertionError("unexpected result " + result);
        };
    }

    @Test
    void concurrentMixedRequestsGiveWhatTheyGiveOneByOne() {
        List<String> sequential = new ArrayList<>();
        for (int i = 0; i < CONCURRENT; i++) sequential.add(outcome(request(i).generate()));
        int rounds = Math.max(1, (int) Math.ceil(MINUTES / 2));
        int errors = 0, requests = 0;
        for (int round = 0; round < rounds; round++) {
            List<CompletableFuture<?>> futures = new ArrayList<>();
            for (int i = 0; i < CONCURRENT; i++) futures.add(request(i).generateAsync());
            for (int i = 0; i < CONCURRENT; i++) {
                requests++;
                try {
                    assertThat(outcome(futures.get(i).join())).as("request %d", i).isEqualTo(sequential.get(i));
                } catch (CompletionException e) {
                    errors++;
                    throw e;
                }
            }
        }
        assertThat(loaded.engine().openCaches.get()).isZero();
        assertThat(loaded.kvBytesInUse()).isZero();
        report.add(String.format(Locale.ROOT, "concurrent: %d rounds of %d mixed requests, %d requests, %d errors, "
                + "all identical to sequential runs", rounds, CONCURRENT, requests, errors));
    }

    @Test
    void requestsCancelledAtRandomStepsLeaveMemoryFlat() throws Exception {
        // Warm up every path, so that what is measured after is not class loading or JIT.
        runCancellations(60, new SplittableRandom(1));
        awaitCachesClosed();
        MemoryProbe.Reading before = MemoryProbe.read();
        long deadline = System.nanoTime() + (long) (MINUTES * 60e9);
        SplittableRandom random = new SplittableRandom(42);
        Tally total = new Tally();
        do {
            total.add(runCancellations(MINUTES > 0 ? 200 : CI_CANCELLATIONS, random));
        } while (System.nanoTime() < deadline || MINUTES > 0 && total.cancelled < 1000);
        awaitCachesClosed();
        MemoryProbe.Reading after = MemoryProbe.read();

        assertThat(total.unexpected).as("requests that failed other than by cancellation").isZero();
        awaitCachesClosed();
        assertThat(loaded.kvBytesInUse()).isZero();
        assertThat(after.heapUsed() - before.heapUsed()).as("heap growth after GC, bytes").isLessThan(16L << 20);
        if (before.nativeCommitted() >= 0) {
            assertThat(after.nativeCommitted() - before.nativeCommitted()).as("native growth (NMT), bytes").isLessThan(64L << 20);
        }
        report.add(String.format(Locale.ROOT, "cancellation: %d requests, %d cancelled (%d by future, %d by interrupt, %d by "
                        + "deadline), %d completed before their cancel step, %d other errors", total.requests, total.cancelled,
                total.byFuture, total.byInterrupt, total.byDeadline, total.completed, total.unexpected));
        report.add("memory before: " + before);
        report.add("memory after:  " + after);
    }

    /** A cancelled future completes at once; its request stops at its next step and closes its caches then. */
    static void awaitCachesClosed() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while ((loaded.engine().openCaches.get() != 0 || loaded.kvBytesInUse() != 0) && System.nanoTime() < until) Thread.sleep(10);
        assertThat(loaded.engine().openCaches.get()).isZero();
    }

    /** What a batch of cancelled requests came to. */
    static final class Tally {
        int requests, cancelled, byFuture, byInterrupt, byDeadline, completed, unexpected;

        void add(Tally t) {
            requests += t.requests;
            cancelled += t.cancelled;
            byFuture += t.byFuture;
            byInterrupt += t.byInterrupt;
            byDeadline += t.byDeadline;
            completed += t.completed;
            unexpected += t.unexpected;
        }
    }

    /** {@code n} requests, 8 at a time, each cancelled at a random step in one of three ways. */
    static Tally runCancellations(int n, SplittableRandom random) throws Exception {
        Tally t = new Tally();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> outcomes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int kind = random.nextInt(6), step = 1 + random.nextInt(MAX_TOKENS[kind]), how = i % 3;
                outcomes.add(pool.submit(() -> cancelOne(kind, step, how)));
            }
            for (Future<String> f : outcomes) {
                String o = f.get(60, TimeUnit.SECONDS);
                t.requests++;
                switch (o) {
                    case "future" -> { t.cancelled++; t.byFuture++; }
                    case "interrupt" -> { t.cancelled++; t.byInterrupt++; }
                    case "deadline" -> { t.cancelled++; t.byDeadline++; }
                    case "completed" -> t.completed++;
                    default -> t.unexpected++;
                }
            }
        } finally {
            pool.shutdownNow();
        }
        return t;
    }

    /** Runs one request and cancels it when it reaches {@code step}; says how it ended. */
    static String cancelOne(int kind, int step, int how) {
        Request<?, ?> r = request(kind * 1000 + step);
        AtomicInteger tokens = new AtomicInteger();
        try {
            switch (how) {
                case 0 -> {
                    AtomicReference<CompletableFuture<?>> future = new AtomicReference<>();
                    CompletableFuture<?> f = r.onProgress(p -> {
                        CompletableFuture<?> self = future.get();
                        if (tokens.incrementAndGet() == step && self != null) self.cancel(true);
                    }).generateAsync();
                    future.set(f);
                    if (tokens.get() >= step) f.cancel(true);   // the step came before the future was known
                    try {
                        f.join();
                        return "completed";
                    } catch (CancellationException e) {
                        return "future";
                    }
                }
                case 1 -> {
                    r.onProgress(p -> {
                        if (tokens.incrementAndGet() == step) Thread.currentThread().interrupt();
                    }).generate();
                    return "completed";
                }
                default -> {
                    r.deadline(Duration.ofMillis(1 + step)).generate();
                    return "completed";
                }
            }
        } catch (CancellationException e) {
            return how == 1 ? "interrupt" : "deadline";
        } catch (RuntimeException e) {
            return "error: " + e;
        } finally {
            Thread.interrupted();
        }
    }
}
