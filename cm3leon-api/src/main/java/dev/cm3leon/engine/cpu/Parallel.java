package dev.cm3leon.engine.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/** Data parallelism over index ranges on one pool sized to the cores. */
public final class Parallel {
    private static final ForkJoinPool POOL = createPool();

    private Parallel() {
    }

    private static ForkJoinPool createPool() {
        int threads = Integer.getInteger("cm3leon.threads", Runtime.getRuntime().availableProcessors());
        return new ForkJoinPool(Math.max(1, threads), pool -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("cm3leon-cpu-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    public static int threads() {
        return POOL.getParallelism();
    }

    /** A body over a half-open range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into chunks of at least {@code grain}; inline when the work is small
     * or the caller is already a pool worker.
     */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(threads() * 4, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1 || (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL)) {
            body.run(0, n);
            return;
        }
        POOL.invoke(new Split(body, 0, n, (n + chunks - 1) / chunks));
    }

    private static final class Split extends RecursiveAction {
        private final RangeBody body;
        private final int from, to, chunk;

        Split(RangeBody body, int from, int to, int chunk) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.chunk = chunk;
        }

        @Override
        protected void compute() {
            if (to - from <= chunk) {
                body.run(from, to);
                return;
            }
            int mid = from + ((to - from) / chunk / 2) * chunk;
            if (mid <= from) mid = from + chunk;
            invokeAll(new Split(body, from, mid, chunk), new Split(body, mid, to, chunk));
        }
    }
}
