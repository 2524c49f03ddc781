package dev.cm3leon.decode;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCacheMemoryException;
import dev.cm3leon.engine.StreamStep;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Decodes the sequences of every request running on one engine with continuous batching: each step is one engine
 * pass over the streams of all running requests (their guidance and amateur streams and samples together), so the
 * weights are read once per step however many callers there are. A request joins at the next step once its KV caches
 * fit the engine's budget; its prompt is fed in chunks beside the others' decode tokens, so a long prompt does not
 * stall the images being drawn; a request that finishes, fails or is cancelled leaves at once and returns its memory.
 *
 * <p>One stepping thread, started when work arrives and ended when none is left, runs the passes, the sampler chains
 * and the listeners. A request's pass contents and prompt chunks depend only on that request, and the CPU engine keeps
 * each request's numbers apart ({@link Engine#forward(List, int[])}), so a seeded request decodes the same tokens
 * alone or beside others. One request's failure (a bad token, a throwing listener, a pass that fails for it) fails
 * only that request.
 */
public final class GenerationLoop implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GenerationLoop.class);

    /**
     * @param maxStreamsPerPass streams of running requests one pass serves; a request with more runs alone
     * @param tokensPerPass     tokens one pass carries (decode tokens and prompt chunks), at most the engine's prefill
     *                          chunk so that the engine does not cut a pass itself
     */
    public record Limits(int maxStreamsPerPass, int tokensPerPass) {
        public Limits {
            if (maxStreamsPerPass < 1) throw new IllegalArgumentException("maxStreamsPerPass must be ≥ 1, got " + maxStreamsPerPass);
            if (tokensPerPass < 2) throw new IllegalArgumentException("tokensPerPass must be ≥ 2, got " + tokensPerPass);
        }

        /** Half a pass for decode tokens, the engine's prefill chunk for the whole pass. */
        public static Limits of(EngineOptions options) {
            int tokens = options.prefillChunkTokens();
            return new Limits(Math.max(1, tokens / 2), Math.max(2, tokens));
        }
    }

    /** What one sequence decodes: its streams' prompts (stream 0 conditional), chain, modality and limits. */
    public record Sequence(int[][] streamPrompts, SamplerChain chain, ModalityState modality, SplittableRandom random,
                           int maxNewTokens, int[] stopTokens) {
        public Sequence(int[][] streamPrompts, SamplerChain chain, ModalityState modality, SplittableRandom random,
                        int maxNewTokens, int stopToken) {
            this(streamPrompts, chain, modality, random, maxNewTokens, new int[]{stopToken});
        }

        boolean stopsAt(int token) {
            for (int t : stopTokens) if (t == token) return true;
            return false;
        }

        public Sequence {
            if (streamPrompts.length == 0) throw new IllegalArgumentException("a sequence needs at least one stream");
            for (int[] p : streamPrompts) {
                if (p.length == 0) throw new IllegalArgumentException("every stream needs a non-empty prompt");
            }
        }
    }

    /** Called after every chosen token, on the loop's stepping thread: keep it short, it holds up every request. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int sequence, int token, ModalityState modality);
    }

    /**
     * Each sequence's new tokens, and where the time went (from admission: time spent waiting is not counted): the
     * prefill, the decode steps in all, the forward passes of those steps and this request's sampler chains, the
     * forward pass of each decode step in order ({@code stepForwardNanos[i]} fed the tokens chosen at step i), and the
     * passes this request took part in. A shared pass is counted whole for every request in it.
     */
    public record Result(int[][] tokens, long prefillNanos, long decodeNanos, int steps, long forwardNanos,
                         long samplingNanos, long[] stepForwardNanos, int forwardPasses) {
        /**
         * A loop that reports only prefill and decode ({@code steps} passes after the prefill, speculative decoding's
         * verification passes): no per-step split.
         */
        public Result(int[][] tokens, long prefillNanos, long decodeNanos, int steps) {
            this(tokens, prefillNanos, decodeNanos, steps, 0, 0, new long[0], steps + 1);
        }

        /** Mean of {@code count} step forward times from {@code from} (clamped to the steps there are). */
        public long meanStepNanos(int from, int count) {
            int a = Math.max(0, Math.min(from, stepForwardNanos.length)), b = Math.min(stepForwardNanos.length, a + count);
            long sum = 0;
            for (int i = a; i < b; i++) sum += stepForwardNanos[i];
            return b > a ? sum / (b - a) : 0;
        }
    }

    /**
     * The loop now: requests waiting for room, requests running and their streams, and since it was made the passes
     * run and the tokens they carried.
     */
    public record Stats(int waitingRequests, int runningRequests, int runningStreams, long passes, long passTokens) {
    }

    private final Engine engine;
    private final Limits limits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<BatchedRequest> waiting = new ArrayDeque<>();
    /** Touched only by the stepping thread, except for the counts read under the lock. */
    private final List<BatchedRequest> running = new ArrayList<>();
    private Thread stepper;
    private boolean closed;
    private int nextGroup;
    private final AtomicLong passes = new AtomicLong(), passTokens = new AtomicLong();

    public GenerationLoop(Engine engine) {
        this(engine, Limits.of(EngineOptions.defaults()));
    }

    public GenerationLoop(Engine engine, Limits limits) {
        this.engine = engine;
        this.limits = limits;
    }

    public Limits limits() {
        return limits;
    }

    public Stats stats() {
        lock.lock();
        try {
            int streams = 0;
            for (BatchedRequest r : running) streams += r.liveStreams();
            return new Stats(waiting.size(), running.size(), streams, passes.get(), passTokens.get());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Decodes {@code sequences} as one request among those running and waits for it. An interrupt of the calling
     * thread, {@code control}'s cancel or its deadline stop it within a step, with its memory returned.
     */
    public Result run(List<Sequence> sequences, GenerationControl control, TokenListener listener) {
        if (sequences.isEmpty()) throw new IllegalArgumentException("no sequences to decode");
        if (Thread.currentThread() == stepper) {
            throw new IllegalStateException("a request's listener cannot run another request of the same model and wait for it");
        }
        control.check();
        BatchedRequest request;
        lock.lock();
        try {
            if (closed) throw new CancellationException("the model was closed");
            request = new BatchedRequest(sequences, control, listener, nextGroup++);
            waiting.add(request);
            if (stepper == null) {
                stepper = Thread.ofPlatform().daemon().name("cm3leon-batch").start(this::stepUntilIdle);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        return await(request);
    }

    private static Result await(BatchedRequest request) {
        boolean interrupted = false;
        try {
            Result result;
            while (true) {
                try {
                    result = request.result.get();
                    break;
                } catch (InterruptedException e) {
                    // Stop the work, but return only once its memory is back, as the loop's own thread frees it.
                    interrupted = true;
                    request.control.cancel();
                } catch (ExecutionException e) {
                    throw new IllegalStateException("a request's future failed", e);   // never completed exceptionally
                }
            }
            Throwable cause = request.failure;
            if (cause == null) return result;
            if (interrupted && cause instanceof CancellationException) {
                throw new CancellationException("the request's thread was interrupted");
            }
            if (cause instanceof RuntimeException re) throw re;
            if (cause instanceof Error err) throw err;
            throw new Cm3LeonException("the request failed: " + cause, cause);
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** The stepping thread: admit, run one pass, repeat while any request waits or runs. */
    private void stepUntilIdle() {
        while (true) {
            lock.lock();
            try {
                admit();
                if (running.isEmpty()) {
                    if (waiting.isEmpty() || closed) {
                        stepper = null;
                        return;
                    }
                    // The head waits for memory that no request of this loop holds (another user of the engine
                    // does): look again shortly.
                    changed.awaitNanos(10_000_000);
                    continue;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                lock.unlock();
            }
            Thread.interrupted();   // a listener's interrupt was its own request's; never the loop's
            try {
                step();
            } catch (RuntimeException | Error e) {
                // Not one request's fault (the isolation below catches those): fail what runs, keep serving.
                LOG.warn("a generation step failed for every running request", e);
                List<BatchedRequest> all = new ArrayList<>(running);
                all.forEach(r -> r.fail(e));
                leave(all);
            }
        }
    }

    /** Moves waiting requests in, in order, while their streams and KV caches fit. Holds the lock. */
    private void admit() {
        int streams = 0;
        for (BatchedRequest r : running) streams += r.liveStreams();
        while (!waiting.isEmpty()) {
            BatchedRequest next = waiting.peek();
            try {
                next.control.check();
            } catch (RuntimeException e) {
                waiting.poll();
                next.fail(e);
                continue;
            }
            if (closed) {
                waiting.poll();
                next.fail(new CancellationException("the model was closed"));
                continue;
            }
            // A request wider than a pass runs alone rather than never.
            if (!running.isEmpty() && streams + next.streams() > limits.maxStreamsPerPass()) return;
            try {
                next.allocate(engine);
            } catch (KvCacheMemoryException e) {
                if (e.exceedsBudget() || running.isEmpty()) {
                    waiting.poll();
                    next.fail(e);      // it could never fit, or nothing that runs here will free room for it
                    continue;
                }
                return;                // waits for the memory of requests that finish
            } catch (RuntimeException | Error e) {
                waiting.poll();
                next.fail(e);
                continue;
            }
            waiting.poll();
            running.add(next);
            streams += next.streams();
        }
    }

    /** Chooses the tokens of the requests that have logits, then one pass for every request still running. */
    private void step() {
        List<BatchedRequest> gone = new ArrayList<>();
        for (BatchedRequest r : running) {
            try {
                if (closed) throw new CancellationException("the model was closed");
                if (r.prefilled() ? r.chooseTokens() : checkOnly(r)) {
                    r.complete();
                    gone.add(r);
                }
            } catch (RuntimeException | Error e) {
                r.fail(e);
                gone.add(r);
            }
        }
        leave(gone);
        if (running.isEmpty()) return;

        // Decode tokens first; prompt chunks, each cut by its own request, while the pass has room (the first always).
        List<BatchedRequest> inPass = new ArrayList<>();
        int rows = 0;
        for (BatchedRequest r : running) {
            if (r.prefilled()) {
                inPass.add(r);
                rows += r.liveStreams();
            }
        }
        for (BatchedRequest r : running) {
            if (r.prefilled()) continue;
            int need = r.nextPrefillRows(limits.tokensPerPass());
            if (rows > 0 && rows + need > limits.tokensPerPass()) continue;
            inPass.add(r);
            rows += need;
        }
        List<StreamStep> steps = new ArrayList<>();
        List<List<StreamStep>> parts = new ArrayList<>();
        List<Integer> groups = new ArrayList<>();
        List<int[][]> before = new ArrayList<>();
        boolean[] decoding = new boolean[inPass.size()];
        for (int i = 0; i < inPass.size(); i++) decoding[i] = inPass.get(i).prefilled();
        for (BatchedRequest r : inPass) {
            List<StreamStep> own = r.nextSteps(limits.tokensPerPass());
            parts.add(own);
            before.add(r.lengths());
            steps.addAll(own);
            for (int i = 0; i < own.size(); i++) groups.add(r.group);
        }
        float[][] out;
        long f0 = System.nanoTime();
        try {
            out = engine.forward(steps, groups.stream().mapToInt(Integer::intValue).toArray());
        } catch (RuntimeException | Error e) {
            // Find whose step failed: undo what the pass wrote, then run each request's part alone.
            for (int i = 0; i < inPass.size(); i++) inPass.get(i).rewind(before.get(i));
            runApart(inPass, parts, gone);
            leave(gone);
            return;
        }
        long f = System.nanoTime() - f0;
        for (int i = 0; i < inPass.size(); i++) inPass.get(i).recordPass(f, decoding[i]);
        passes.incrementAndGet();
        passTokens.addAndGet(rows);
        int k = 0;
        for (int i = 0; i < inPass.size(); i++) {
            int n = parts.get(i).size();
            float[][] own = new float[n][];
            System.arraycopy(out, k, own, 0, n);
            k += n;
            inPass.get(i).accept(parts.get(i), own);
        }
    }

    private void runApart(List<BatchedRequest> inPass, List<List<StreamStep>> parts, List<BatchedRequest> gone) {
        for (int i = 0; i < inPass.size(); i++) {
            BatchedRequest r = inPass.get(i);
            List<StreamStep> own = parts.get(i);
            try {
                int[] group = new int[own.size()];
                java.util.Arrays.fill(group, r.group);
                r.accept(own, engine.forward(own, group));
            } catch (RuntimeException | Error e) {
                r.fail(e);
                gone.add(r);
            }
        }
    }

    private static boolean checkOnly(BatchedRequest r) {
        r.control.check();
        return false;
    }

    /** Requests that ended leave the pass; the lock orders this with {@link #stats} and {@link #admit}. */
    private void leave(List<BatchedRequest> gone) {
        if (gone.isEmpty()) return;
        lock.lock();
        try {
            running.removeAll(gone);
        } finally {
            lock.unlock();
        }
        gone.clear();
    }

    /**
     * Fails every waiting and running request with a cancellation and waits for the pass under way to end, so that the
     * engine can be closed after it; the requests return their memory.
     */
    @Override
    public void close() {
        Thread running;
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
            running = stepper;
        } finally {
            lock.unlock();
        }
        if (running == null || running == Thread.currentThread()) return;
        boolean interrupted = false;
        while (running.isAlive()) {
            try {
                running.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
