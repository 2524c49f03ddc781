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

    /** Each sequence's new tokens, and where the time went. */
    public record Result(int[][] tokens, long prefillNanos, long decodeNanos, int steps) {
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
        int steps = 0;
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
                    int token = choose(seq, streamLogits, count[s], history[s], historyLength[s]);
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
                steps++;
                if (next.isEmpty()) break;
                logits = engine.forward(next);
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
        return new Result(tokens, t1 - t0, t2 - t1, steps);
    }

    private static int choose(Sequence seq, float[][] streamLogits, int step, int[] history, int historyLength) {
        int forced = seq.modality().forcedToken();
        if (forced >= 0) return forced;
        StepContext ctx = new StepContext(streamLogits[0].clone(), streamLogits, seq.modality(), step, history,
                historyLength, seq.random());
        return seq.chain().choose(ctx);
    }
}
