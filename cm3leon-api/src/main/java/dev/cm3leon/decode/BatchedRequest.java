package dev.cm3leon.decode;

import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * One request's part of a {@link GenerationLoop}: its sequences (samples), each with its streams' caches, how far each
 * stream's prompt has been fed, the logits of the last pass, and the tokens chosen so far. What it adds to a pass
 * depends only on itself (its prompt chunks are cut the same whatever else runs), so it decodes the same tokens alone
 * or beside others. Only the loop's stepping thread touches it after admission.
 */
final class BatchedRequest {
    final List<GenerationLoop.Sequence> sequences;
    final GenerationControl control;
    final GenerationLoop.TokenListener listener;
    /** Completes when the request ends: with its result, or with null and {@link #failure} set. */
    final CompletableFuture<GenerationLoop.Result> result = new CompletableFuture<>();
    /** Why the request failed (kept apart: a future completed with a cancellation would lose its message). */
    volatile Throwable failure;
    /** Names this request's steps in a pass ({@link Engine#forward(List, int[])}). */
    final int group;

    private final int streams;
    private KvCache[][] caches;
    /** Prompt tokens fed so far, per sequence and stream. */
    private int[][] fed;
    private float[][][] logits;
    private final int[][] produced, history;
    private final int[] count, historyLength;
    private final boolean[] done;
    private boolean prefilled;
    private long admittedNanos, prefilledNanos;
    private int steps;
    // Where this request's time went: its passes (shared ones counted whole), their decode share, its sampler chains.
    private int passes, forwardSteps;
    private long forwardNanos, samplingNanos;
    private long[] stepForward = new long[16];

    BatchedRequest(List<GenerationLoop.Sequence> sequences, GenerationControl control, GenerationLoop.TokenListener listener,
                   int group) {
        this.sequences = List.copyOf(sequences);
        this.control = control;
        this.listener = listener;
        this.group = group;
        int n = sequences.size();
        int s = 0;
        for (GenerationLoop.Sequence seq : sequences) s += seq.streamPrompts().length;
        this.streams = s;
        produced = new int[n][];
        history = new int[n][];
        count = new int[n];
        historyLength = new int[n];
        done = new boolean[n];
        for (int i = 0; i < n; i++) {
            GenerationLoop.Sequence seq = sequences.get(i);
            produced[i] = new int[seq.maxNewTokens()];
            int[] cond = seq.streamPrompts()[0];
            history[i] = Arrays.copyOf(cond, cond.length + seq.maxNewTokens());
            historyLength[i] = cond.length;
            done[i] = seq.maxNewTokens() == 0;
        }
    }

    /** Streams of all sequences, finished or not: what the request holds in KV memory at admission. */
    int streams() {
        return streams;
    }

    /** Streams still decoding: what the request adds to a pass. */
    int liveStreams() {
        int s = 0;
        for (int i = 0; i < sequences.size(); i++) if (!done[i]) s += sequences.get(i).streamPrompts().length;
        return s;
    }

    /** Takes every cache at once: the request fits as a whole or fails before it holds anything. */
    void allocate(Engine engine) {
        List<Integer> capacities = new ArrayList<>();
        for (GenerationLoop.Sequence seq : sequences) {
            for (int[] prompt : seq.streamPrompts()) capacities.add(prompt.length + seq.maxNewTokens());
        }
        var allocated = engine.newCaches(capacities.stream().mapToInt(Integer::intValue).toArray()).iterator();
        int n = sequences.size();
        caches = new KvCache[n][];
        fed = new int[n][];
        logits = new float[n][][];
        for (int i = 0; i < n; i++) {
            int k = sequences.get(i).streamPrompts().length;
            caches[i] = new KvCache[k];
            for (int st = 0; st < k; st++) caches[i][st] = allocated.next();
            fed[i] = new int[k];
            logits[i] = new float[k][];
        }
        admittedNanos = System.nanoTime();
    }

    boolean prefilled() {
        return prefilled;
    }

    /** Prompt tokens each stream feeds per pass: at most half the pass, at least one, cut the same on every run. */
    int chunkPerStream(int tokensPerPass) {
        return Math.max(1, tokensPerPass / 2 / Math.max(1, streams));
    }

    /** Rows the next prefill pass of this request takes. */
    int nextPrefillRows(int tokensPerPass) {
        int chunk = chunkPerStream(tokensPerPass), rows = 0;
        for (int i = 0; i < sequences.size(); i++) {
            int[][] prompts = sequences.get(i).streamPrompts();
            for (int st = 0; st < prompts.length; st++) rows += Math.min(chunk, prompts[st].length - fed[i][st]);
        }
        return rows;
    }

    /**
     * Chooses the next token of every live sequence from the last pass's logits, hands it to the listener, and closes
     * the caches of sequences that end. Returns whether the request is finished. Call once prefilled.
     */
    boolean chooseTokens() {
        long c0 = System.nanoTime();
        try {
            return chooseAll();
        } finally {
            samplingNanos += System.nanoTime() - c0;
        }
    }

    /** A pass this request was in took {@code nanos}; {@code decoding}: it fed decode tokens (not prompt chunks). */
    void recordPass(long nanos, boolean decoding) {
        passes++;
        if (!decoding) return;
        forwardNanos += nanos;
        if (forwardSteps == stepForward.length) stepForward = Arrays.copyOf(stepForward, 2 * forwardSteps);
        stepForward[forwardSteps++] = nanos;
    }

    private boolean chooseAll() {
        control.check();
        for (int s = 0; s < sequences.size(); s++) {
            if (done[s]) continue;
            GenerationLoop.Sequence seq = sequences.get(s);
            int token = choose(seq, logits[s], count[s], history[s], historyLength[s]);
            logits[s] = new float[logits[s].length][];
            produced[s][count[s]++] = token;
            history[s][historyLength[s]++] = token;
            seq.modality().accept(token);
            seq.chain().accept(token);
            if (listener != null) {
                listener.onToken(s, token, seq.modality());
                // A listener that interrupts its thread stops its own request, as it would on its own thread.
                if (Thread.interrupted()) throw new CancellationException("the request's thread was interrupted");
            }
            boolean stop = count[s] >= seq.maxNewTokens() || seq.modality().finished()
                    || (seq.stopsAt(token) && !seq.modality().inImage());
            if (stop) {
                done[s] = true;
                for (KvCache c : caches[s]) c.close();    // its memory goes back now, not when the request ends
            }
        }
        steps++;
        return finished();
    }

    boolean finished() {
        for (boolean d : done) if (!d) return false;
        return true;
    }

    /** This request's steps of the next pass: prompt chunks while prefilling, else one token per live stream. */
    List<StreamStep> nextSteps(int tokensPerPass) {
        List<StreamStep> out = new ArrayList<>();
        int chunk = chunkPerStream(tokensPerPass);
        for (int s = 0; s < sequences.size(); s++) {
            if (done[s]) continue;
            int[][] prompts = sequences.get(s).streamPrompts();
            for (int st = 0; st < prompts.length; st++) {
                if (!prefilled) {
                    int from = fed[s][st], to = Math.min(prompts[st].length, from + chunk);
                    if (from == to) continue;
                    StreamStep.Logits wanted = to == prompts[st].length ? StreamStep.Logits.LAST : StreamStep.Logits.NONE;
                    out.add(new StreamStep(caches[s][st], Arrays.copyOfRange(prompts[st], from, to), wanted));
                } else {
                    out.add(StreamStep.last(caches[s][st], produced[s][count[s] - 1]));
                }
            }
        }
        return out;
    }

    /** Takes the logits of the steps {@link #nextSteps} returned, in the same order. */
    void accept(List<StreamStep> steps, float[][] out) {
        int k = 0;
        for (int s = 0; s < sequences.size(); s++) {
            if (done[s]) continue;
            int[][] prompts = sequences.get(s).streamPrompts();
            for (int st = 0; st < prompts.length; st++) {
                if (!prefilled) {
                    if (fed[s][st] == prompts[st].length) continue;
                    fed[s][st] += steps.get(k).tokenCount();
                }
                if (out[k] != null) logits[s][st] = out[k];
                k++;
            }
        }
        if (!prefilled) {
            boolean all = true;
            for (int s = 0; s < sequences.size() && all; s++) {
                for (int st = 0; st < fed[s].length; st++) all &= fed[s][st] == sequences.get(s).streamPrompts()[st].length;
            }
            if (all) {
                prefilled = true;
                prefilledNanos = System.nanoTime();
            }
        }
    }

    /** Caches' lengths now, to undo a pass that failed part-way ({@link #rewind}). */
    int[][] lengths() {
        int[][] l = new int[caches.length][];
        for (int s = 0; s < caches.length; s++) {
            l[s] = new int[caches[s].length];
            for (int st = 0; st < caches[s].length; st++) l[s][st] = done[s] ? 0 : caches[s][st].length();
        }
        return l;
    }

    void rewind(int[][] lengths) {
        for (int s = 0; s < caches.length; s++) {
            if (done[s]) continue;
            for (int st = 0; st < caches[s].length; st++) {
                if (caches[s][st].length() > lengths[s][st]) caches[s][st].truncate(lengths[s][st]);
            }
        }
    }

    void complete() {
        close();
        long end = System.nanoTime();
        int[][] tokens = new int[sequences.size()][];
        for (int s = 0; s < tokens.length; s++) tokens[s] = Arrays.copyOf(produced[s], count[s]);
        long prefillEnd = prefilledNanos == 0 ? end : prefilledNanos;
        result.complete(new GenerationLoop.Result(tokens, prefillEnd - admittedNanos, end - prefillEnd, steps, forwardNanos,
                samplingNanos, Arrays.copyOf(stepForward, forwardSteps), passes));
    }

    void fail(Throwable t) {
        close();
        failure = t;
        result.complete(null);
    }

    /** Returns every cache still open; closing one twice is harmless. */
    private void close() {
        if (caches == null) return;
        for (KvCache[] cs : caches) {
            if (cs == null) continue;
            for (KvCache c : cs) if (c != null) c.close();
        }
    }

    private static int choose(GenerationLoop.Sequence seq, float[][] streamLogits, int step, int[] history, int historyLength) {
        int forced = seq.modality().forcedToken();
        if (forced >= 0) return forced;
        StepContext ctx = new StepContext(streamLogits[0].clone(), streamLogits, seq.modality(), step, history,
                historyLength, seq.random());
        return seq.chain().choose(ctx);
    }
}
