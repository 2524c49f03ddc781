package dev.cm3leon.engine;

import dev.cm3leon.checkpoint.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * Runs the decoder over a batch of streams. One {@link #forward} reads every weight once for all streams of the
 * step: that is what makes guidance streams cheap. Thread-safe: concurrent steps on different caches are allowed.
 */
public interface Engine extends AutoCloseable {
    ModelConfig config();

    /** A cache for one stream holding up to {@code capacity} positions (at most the model's context). */
    KvCache newCache(int capacity);

    /**
     * The caches of one request, all or none: a backend with a memory budget reserves their total first, so a request
     * that does not fit fails before it holds anything that the requests beside it need.
     */
    default List<KvCache> newCaches(int... capacities) {
        List<KvCache> caches = new ArrayList<>(capacities.length);
        try {
            for (int capacity : capacities) caches.add(newCache(capacity));
            return caches;
        } catch (RuntimeException | Error e) {
            caches.forEach(KvCache::close);
            throw e;
        }
    }

    /**
     * Appends each stream's tokens to its cache and returns, per stream, the raw logits asked for: {@code [V]} for
     * {@link StreamStep.Logits#LAST}, {@code [T, V]} row-major for {@code ALL}, null for {@code NONE}.
     */
    float[][] forward(List<StreamStep> steps);

    /**
     * One pass for the steps of several requests, {@code groupOfStep[i]} naming the request of {@code steps.get(i)}
     * (a request's steps adjacent). A backend that can keeps each request's numbers independent of the requests beside
     * it (the CPU engine does, so that requests batched together decode bit for bit as they would alone); the others
     * run it as {@link #forward(List)}.
     */
    default float[][] forward(List<StreamStep> steps, int[] groupOfStep) {
        return forward(steps);
    }

    /** The backend's name, for logs and reports. */
    String backendName();

    @Override
    void close();
}
