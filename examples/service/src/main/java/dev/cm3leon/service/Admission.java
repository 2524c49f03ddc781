package dev.cm3leon.service;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * A bounded queue in front of the model: up to {@code maxRunning} requests run (the model batches them), up to
 * {@code maxQueued} more wait in arrival order, and any beyond are refused at once with 429 and a {@code Retry-After}
 * estimated from recent latency, rather than piling up threads and memory.
 */
final class Admission {
    private final int maxRunning, maxQueued;
    private final Semaphore running;
    private final AtomicInteger inside = new AtomicInteger();
    private final LongSupplier meanLatencyMillis;

    Admission(int maxRunning, int maxQueued, LongSupplier meanLatencyMillis) {
        this.maxRunning = maxRunning;
        this.maxQueued = maxQueued;
        this.running = new Semaphore(maxRunning, true);
        this.meanLatencyMillis = meanLatencyMillis;
    }

    /** A place in the model, held until closed. */
    interface Ticket extends AutoCloseable {
        @Override
        void close();
    }

    /** Waits up to {@code timeoutMillis} for a place; refuses at once when the queue is full. */
    Ticket enter(long timeoutMillis) {
        if (inside.incrementAndGet() > maxRunning + maxQueued) {
            inside.decrementAndGet();
            throw new ApiException(429, "rate_limit_exceeded", null, "queue_full", "the service is busy: " + maxRunning
                    + " requests are running and " + maxQueued + " waiting; try again later", retryAfterSeconds());
        }
        boolean acquired = false;
        try {
            acquired = running.tryAcquire(timeoutMillis, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (!acquired) inside.decrementAndGet();
        }
        if (!acquired) {
            throw new ApiException(504, "timeout", null, "timeout", "the request waited " + timeoutMillis
                    + " ms for the model and timed out", 0);
        }
        return new Ticket() {
            private boolean closed;

            @Override
            public synchronized void close() {
                if (closed) return;
                closed = true;
                running.release();
                inside.decrementAndGet();
            }
        };
    }

    /** Requests waiting for a place now. */
    int queued() {
        return Math.max(0, inside.get() - (maxRunning - running.availablePermits()));
    }

    /** Requests holding a place now. */
    int running() {
        return maxRunning - running.availablePermits();
    }

    private long retryAfterSeconds() {
        long waitMillis = meanLatencyMillis.getAsLong() * (1 + maxQueued / Math.max(1, maxRunning));
        return Math.max(1, (waitMillis + 999) / 1000);
    }
}
