package dev.cm3leon.engine.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Data parallelism over index ranges on one pool. The calling thread works too: the pool has one thread fewer than
 * {@code cm3leon.threads} (default: the cores), and chunks are taken from a shared counter by whoever is free. A
 * decode step runs ~80 short parallel regions, so each region wakes as few threads as possible and never waits for
 * a helper that has not started: chunks it did not take are done by the caller.
 */
public final class Parallel {
    private static final int THREADS = Math.max(1, Integer.getInteger("cm3leon.threads", Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = createPool();

    private Parallel() {
    }

    private static ForkJoinPool createPool() {
        return new ForkJoinPool(Math.max(1, THREADS - 1), pool -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("cm3leon-cpu-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /** Threads that work on a region: the caller and the pool's workers. */
    public static int threads() {
        return THREADS;
    }

    /** A body over a half-open range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over {@code [0, n)} in chunks of at least {@code grain}; inline when the work is small or the
     * caller is already a pool worker (nested regions do not fan out again).
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(THREADS * 4, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1 || THREADS == 1 || (Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == POOL)) {
            body.run(0, n);
            return;
        }
        new Region(n, chunks, body).runOnCaller();
    }

    /** One parallel region: chunks handed out by a counter, completion counted so the caller knows when to return. */
    private static final class Region implements Runnable {
        private final int n, chunks, size;
        private final RangeBody body;
        private final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final Thread caller = Thread.currentThread();

        Region(int n, int chunks, RangeBody body) {
            this.n = n;
            this.size = (n + chunks - 1) / chunks;
            // Rounding the size up can leave the last chunks empty (27 in 8 chunks of 4 is 7 chunks): drop them, so
            // that every body gets a non-empty range.
            this.chunks = (n + size - 1) / size;
            this.body = body;
        }

        /** Takes chunks until none are left; a helper that starts late finds none and returns at once. */
        @Override
        public void run() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    body.run(c * size, Math.min(n, (c + 1) * size));
                } catch (Throwable t) {
                    failure.compareAndSet(null, t);
                } finally {
                    if (done.incrementAndGet() == chunks) LockSupport.unpark(caller);
                }
            }
        }

        void runOnCaller() {
            int helpers = Math.min(THREADS - 1, chunks - 1);
            for (int i = 0; i < helpers; i++) POOL.execute(this);
            run();
            // Chunks still running belong to helpers on other cores: spin briefly, then sleep until the last one ends.
            for (int spins = 0; done.get() < chunks && spins < 2_000; spins++) Thread.onSpinWait();
            while (done.get() < chunks) LockSupport.park(this);
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
        }
    }
}
