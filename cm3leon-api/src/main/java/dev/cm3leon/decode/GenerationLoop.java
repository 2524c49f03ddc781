package dev.cm3leon.decode;

import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decodes several sequences (samples) at once, each with one or more streams (conditional, guidance, amateur). Every
 * step runs one engine pass over all streams of all live sequences, so the weights are read once per step for the
 * whole request. The chosen token is fed to every stream of its sequence. Caches are closed on every exit path.
 */
public final class GenerationLoop {
    private final Engine engine;

    public GenerationLoop(Engine engine) {
        this.engine = engine;
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

    /** Called after every chosen token. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int sequence, int token, ModalityState modality);
    }

    /**
     * Each sequence's new tokens, and where the time went: the prefill, the decode steps in all, their forward passes
     * and sampler chains, the forward pass of each decode step in order ({@code stepForwardNanos[i]} fed the tokens
     * chosen at step i), and the passes over the weights.
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

    public Result run(List<Sequence> sequences, GenerationControl control, TokenListener listener) {
        int n = sequences.size();
        KvCache[][] caches = new KvCache[n][];
        int[][] produced = new int[n][];
        int[] count = new int[n];
        int[][] history = new int[n][];
        int[] historyLength = new int[n];
        boolean[] done = new boolean[n];
        long t0 = System.nanoTime(), t1 = t0;
        int steps = 0, passes = 0;
        long forwardNanos = 0, samplingNanos = 0;
        long[] stepForward = new long[16];
        try {
            // Every cache of the request at once: it fits as a whole or fails before any is allocated.
            List<Integer> capacities = new ArrayList<>();
            for (Sequence seq : sequences) {
                for (int[] prompt : seq.streamPrompts()) capacities.add(prompt.length + seq.maxNewTokens());
            }
            Iterator<KvCache> allocated = engine.newCaches(capacities.stream().mapToInt(Integer::intValue).toArray()).iterator();
            List<StreamStep> batch = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                Sequence seq = sequences.get(s);
                caches[s] = new KvCache[seq.streamPrompts().length];
                for (int st = 0; st < caches[s].length; st++) {
                    int[] prompt = seq.streamPrompts()[st];
                    caches[s][st] = allocated.next();
                    batch.add(StreamStep.last(caches[s][st], prompt));
                }
                produced[s] = new int[seq.maxNewTokens()];
                int[] cond = seq.streamPrompts()[0];
                history[s] = Arrays.copyOf(cond, cond.length + seq.maxNewTokens());
                historyLength[s] = cond.length;
                done[s] = seq.maxNewTokens() == 0;
            }
            control.check();
            float[][] logits = engine.forward(batch);
            passes++;
            t1 = System.nanoTime();
            while (true) {
                control.check();
                List<StreamStep> next = new ArrayList<>();
                int row = 0;
                for (int s = 0; s < n; s++) {
                    Sequence seq = sequences.get(s);
                    int streams = caches[s].length;
                    if (done[s]) continue;
                    float[][] streamLogits = Arrays.copyOfRange(logits, row, row + streams);
                    row += streams;
                    long c0 = System.nanoTime();
                    int token = choose(seq, streamLogits, count[s], history[s], historyLength[s]);
                    samplingNanos += System.nanoTime() - c0;
                    produced[s][count[s]++] = token;
                    history[s][historyLength[s]++] = token;
                    seq.modality().accept(token);
                    seq.chain().accept(token);
                    if (listener != null) listener.onToken(s, token, seq.modality());
                    boolean stop = count[s] >= seq.maxNewTokens() || seq.modality().finished()
                            || (seq.stopsAt(token) && !seq.modality().inImage());
                    if (stop) {
                        done[s] = true;
                        for (KvCache c : caches[s]) c.close();
                        continue;
                    }
                    for (KvCache c : caches[s]) next.add(StreamStep.last(c, token));
                }
                if (next.isEmpty()) {
                    steps++;
                    break;
                }
                long f0 = System.nanoTime();
                logits = engine.forward(next);
                long f = System.nanoTime() - f0;
                passes++;
                forwardNanos += f;
                if (steps == stepForward.length) stepForward = Arrays.copyOf(stepForward, 2 * steps);
                stepForward[steps++] = f;
            }
        } finally {
            for (KvCache[] cs : caches) {
                if (cs == null) continue;
                for (KvCache c : cs) if (c != null) c.close();
            }
        }
        long t2 = System.nanoTime();
        int[][] tokens = new int[n][];
        for (int s = 0; s < n; s++) tokens[s] = Arrays.copyOf(produced[s], count[s]);
        int forwardSteps = Math.max(0, passes - 1);
        return new Result(tokens, t1 - t0, t2 - t1, steps, forwardNanos, samplingNanos,
                Arrays.copyOf(stepForward, forwardSteps), passes);
    }

    private static int choose(Sequence seq, float[][] streamLogits, int step, int[] history, int historyLength) {
        int forced = seq.modality().forcedToken();
        if (forced >= 0) return forced;
        StepContext ctx = new StepContext(streamLogits[0].clone(), streamLogits, seq.modality(), step, history,
                historyLength, seq.random());
        return seq.chain().choose(ctx);
    }
}
