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
 * Speculative Jacobi decoding (Teng et al., ICLR 2025) of image tokens: each pass runs every stream of every sample on
 * its last accepted token plus a window of draft tokens, and returns the logits of every window position. The sampler
 * chain turns them into this pass's distribution p at each position; draft x (drawn from q) is accepted with
 * probability min(1, p(x)/q(x)), the first rejected position is resampled from the normalised residual max(0, p − q),
 * and when the whole window is accepted one more token is drawn from p after it. The positions after the resampled one
 * are redrafted from this pass's p (their q), and new positions at the window's end start as uniform draws over what
 * the modality allows. Accepted tokens are therefore distributed exactly as plain sampling would draw them; only the
 * number of passes changes.
 *
 * <p>All streams of a sample (guidance) verify the same window in the same pass, through the guided distribution; each
 * sample has its own window; forced tokens (end-of-image, row separators) are placed without a draw. Rejected drafts
 * leave the caches by truncation, without copying. Randomness comes only from each sample's seeded source, so a seed,
 * a window and a backend give the same image.
 */
public final class SpeculativeJacobiLoop {
    /** The longest window a request may ask for. */
    public static final int MAX_WINDOW = 64;

    private final Engine engine;
    private final int window;
    private final boolean acceptEveryDraft;

    public SpeculativeJacobiLoop(Engine engine, int window) {
        this(engine, window, false);
    }

    /** With {@code acceptEveryDraft}, the inexact variant the exactness test must tell apart from the real one. */
    SpeculativeJacobiLoop(Engine engine, int window, boolean acceptEveryDraft) {
        if (window < 1 || window > MAX_WINDOW) {
            throw new IllegalArgumentException("the speculative window must be 1…" + MAX_WINDOW + ", got " + window);
        }
        this.engine = engine;
        this.window = window;
        this.acceptEveryDraft = acceptEveryDraft;
    }

    /**
     * Each sample's new tokens; the passes over the weights (prefill excluded); per window position, drafts verified
     * and drafts accepted over all samples.
     */
    public record Result(int[][] tokens, long prefillNanos, long decodeNanos, int passes, long forwardNanos,
                         long samplingNanos, long[] passForwardNanos, long[] drafted, long[] accepted) {
        /**
         * As the plain loop reports it: each verification pass counts as a decode step after the first (the prefill
         * yields no logits here, the first pass does), so per-step means are per pass.
         */
        public GenerationLoop.Result asLoopResult() {
            return new GenerationLoop.Result(tokens, prefillNanos, decodeNanos, passes + 1, forwardNanos, samplingNanos,
                    passForwardNanos, passes + 1);
        }
    }

    /** One sample's window: draft tokens and the distributions they were drawn from. */
    private static final class Window {
        final int[] drafts = new int[MAX_WINDOW];
        final float[][] q = new float[MAX_WINDOW][];
        int size;
    }

    public Result run(List<GenerationLoop.Sequence> sequences, GenerationControl control, GenerationLoop.TokenListener listener) {
        int n = sequences.size();
        KvCache[][] caches = new KvCache[n][];
        int[][] produced = new int[n][];
        int[][] history = new int[n][];
        int[] count = new int[n], historyLength = new int[n], pending = new int[n];
        boolean[] done = new boolean[n];
        Window[] windows = new Window[n];
        long[] drafted = new long[window], accepted = new long[window];
        long t0 = System.nanoTime(), t1 = t0;
        int passes = 0;
        long forwardNanos = 0, samplingNanos = 0;
        long[] passForwardNanos = new long[16];
        try {
            List<Integer> capacities = new ArrayList<>();
            for (GenerationLoop.Sequence seq : sequences) {
                if (!seq.chain().usesOnlyBuiltInStages()) {
                    throw new IllegalArgumentException("speculative decoding needs the built-in sampler stages: a stage of "
                            + "your own may keep state between steps, which verifying a window of drafts would break");
                }
                // Room for the prompt, the tokens, and one window of drafts beyond the last accepted token.
                for (int[] prompt : seq.streamPrompts()) capacities.add(prompt.length + seq.maxNewTokens() + window);
            }
            Iterator<KvCache> allocated = engine.newCaches(capacities.stream().mapToInt(Integer::intValue).toArray()).iterator();
            List<StreamStep> prefill = new ArrayList<>();
            for (int s = 0; s < n; s++) {
                GenerationLoop.Sequence seq = sequences.get(s);
                caches[s] = new KvCache[seq.streamPrompts().length];
                for (int st = 0; st < caches[s].length; st++) {
                    int[] prompt = seq.streamPrompts()[st];
                    caches[s][st] = allocated.next();
                    // Every prompt token but the last: the last is fed with the first window, whose logits it gives.
                    if (prompt.length > 1) {
                        prefill.add(new StreamStep(caches[s][st], Arrays.copyOf(prompt, prompt.length - 1), StreamStep.Logits.NONE));
                    }
                }
                int[] cond = seq.streamPrompts()[0];
                for (int[] prompt : seq.streamPrompts()) {
                    if (prompt[prompt.length - 1] != cond[cond.length - 1]) {
                        throw new IllegalArgumentException("speculative decoding feeds one token to all streams of a sample: "
                                + "their prompts must end with the same token (the image's header)");
                    }
                }
                pending[s] = cond[cond.length - 1];
                produced[s] = new int[seq.maxNewTokens()];
                history[s] = Arrays.copyOf(cond, cond.length + seq.maxNewTokens() + window);
                historyLength[s] = cond.length;
                done[s] = seq.maxNewTokens() == 0;
                windows[s] = new Window();
            }
            control.check();
            if (!prefill.isEmpty()) engine.forward(prefill);
            t1 = System.nanoTime();
            for (int s = 0; s < n; s++) extendWindow(sequences.get(s), windows[s], sequences.get(s).modality().copy(), 0);
            while (true) {
                control.check();
                List<StreamStep> steps = new ArrayList<>();
                int[] windowOf = new int[n];
                for (int s = 0; s < n; s++) {
                    if (done[s]) continue;
                    GenerationLoop.Sequence seq = sequences.get(s);
                    // The window may hold one token fewer than remain: the pass yields one token beyond it.
                    int w = Math.min(windows[s].size, seq.maxNewTokens() - count[s] - 1);
                    windowOf[s] = w;
                    int[] fed = new int[w + 1];
                    fed[0] = pending[s];
                    System.arraycopy(windows[s].drafts, 0, fed, 1, w);
                    for (KvCache c : caches[s]) steps.add(new StreamStep(c, fed, StreamStep.Logits.ALL));
                }
                if (steps.isEmpty()) break;
                long f0 = System.nanoTime();
                float[][] logits = engine.forward(steps);
                long f1 = System.nanoTime();
                if (passes == passForwardNanos.length) passForwardNanos = Arrays.copyOf(passForwardNanos, 2 * passes);
                passForwardNanos[passes++] = f1 - f0;
                forwardNanos += f1 - f0;
                int row = 0;
                for (int s = 0; s < n; s++) {
                    if (done[s]) continue;
                    GenerationLoop.Sequence seq = sequences.get(s);
                    int streams = caches[s].length, w = windowOf[s];
                    float[][] rows = Arrays.copyOfRange(logits, row, row + streams);
                    row += streams;
                    Window win = windows[s];
                    // p at each fed position, the modality state advanced along the drafts.
                    double[][] p = new double[w + 1][];
                    ModalityState state = seq.modality().copy();
                    for (int j = 0; j <= w; j++) {
                        for (int i = 0; i < j; i++) history[s][historyLength[s] + i] = win.drafts[i];
                        p[j] = distribution(seq, rows, j, state, count[s] + j, history[s], historyLength[s] + j);
                        if (j < w) state.accept(win.drafts[j]);
                    }
                    // Verify the drafts in order; the first rejection is resampled from the residual.
                    SplittableRandom random = seq.random();
                    int k = 0;
                    int next = -1;
                    for (; k < w; k++) {
                        drafted[k]++;
                        int d = win.drafts[k];
                        double ratio = p[k][d] / win.q[k][d];
                        if (random.nextDouble() < Math.min(1.0, ratio) || acceptEveryDraft) {
                            accepted[k]++;
                            continue;
                        }
                        next = residual(p[k], win.q[k], random);
                        break;
                    }
                    if (next < 0) next = draw(p[w], random);
                    // Accept d_0 … d_{k−1} and the new token.
                    boolean stop = false;
                    int[] newTokens = Arrays.copyOf(win.drafts, k + 1);
                    newTokens[k] = next;
                    int taken = 0;
                    for (int token : newTokens) {
                        produced[s][count[s]++] = token;
                        history[s][historyLength[s]++] = token;
                        seq.modality().accept(token);
                        seq.chain().accept(token);
                        taken++;
                        if (listener != null) listener.onToken(s, token, seq.modality());
                        if (count[s] >= seq.maxNewTokens() || seq.modality().finished()
                                || (seq.stopsAt(token) && !seq.modality().inImage())) {
                            stop = true;
                            break;
                        }
                    }
                    if (stop) {
                        done[s] = true;
                        for (KvCache c : caches[s]) c.close();
                        continue;
                    }
                    // Each cache keeps the pending token and the accepted drafts (its prompt's length is its own);
                    // the new token is fed next pass.
                    for (KvCache c : caches[s]) c.truncate(c.length() - (w + 1) + 1 + (taken - 1));
                    pending[s] = next;
                    // Positions after the new one: redrafted from this pass's p where it has one, then fresh.
                    Window fresh = new Window();
                    ModalityState ahead = seq.modality().copy();
                    for (int j = k + 1; j <= w && fresh.size < window; j++) {
                        int forced = ahead.forcedToken();
                        float[] q = forced >= 0 ? oneHot(p[j].length, forced) : toFloat(p[j]);
                        int d = forced >= 0 ? forced : draw(q, random);
                        fresh.drafts[fresh.size] = d;
                        fresh.q[fresh.size] = q;
                        fresh.size++;
                        ahead.accept(d);
                    }
                    windows[s] = fresh;
                    extendWindow(seq, fresh, ahead, fresh.size);
                }
                // The chains at every window position, the acceptance test and the redrafts.
                samplingNanos += System.nanoTime() - f1;
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
        return new Result(tokens, t1 - t0, t2 - t1, passes, forwardNanos, samplingNanos,
                Arrays.copyOf(passForwardNanos, passes), drafted, accepted);
    }

    /** The chain's distribution at window position {@code j} (forced tokens: one-hot, no stage runs). */
    private double[] distribution(GenerationLoop.Sequence seq, float[][] rows, int j, ModalityState state, int step,
                                  int[] history, int historyLength) {
        int v = engine.config().vocabSize();
        int forced = state.forcedToken();
        if (forced >= 0) {
            double[] p = new double[v];
            p[forced] = 1;
            return p;
        }
        // rows[stream]: [w + 1, V] row-major; position j's row of each stream.
        float[][] streams = new float[rows.length][];
        for (int st = 0; st < rows.length; st++) streams[st] = Arrays.copyOfRange(rows[st], j * v, (j + 1) * v);
        StepContext ctx = new StepContext(streams[0].clone(), streams, state, step, history, historyLength, seq.random());
        return seq.chain().distribution(ctx);
    }

    /**
     * Fills the window from {@code from} to its full length with fresh drafts: uniform over the tokens the modality
     * allows at each position ({@code state} is the state there, advanced as drafts are placed), forced tokens as they
     * are. The window stops at the image's end: text is not speculated.
     */
    private void extendWindow(GenerationLoop.Sequence seq, Window win, ModalityState state, int from) {
        int v = engine.config().vocabSize();
        win.size = from;
        while (win.size < window && state.inImage() && !state.finished()) {
            int forced = state.forcedToken();
            float[] q;
            int d;
            if (forced >= 0) {
                q = oneHot(v, forced);
                d = forced;
            } else {
                float[] allowed = new float[v];
                state.mask(allowed);
                int n = 0;
                for (float a : allowed) if (a == 0f) n++;
                if (n == 0) break;
                q = new float[v];
                float u = 1f / n;
                for (int i = 0; i < v; i++) if (allowed[i] == 0f) q[i] = u;
                d = draw(q, seq.random());
            }
            win.drafts[win.size] = d;
            win.q[win.size] = q;
            win.size++;
            state.accept(d);
        }
    }

    /** A draw from the normalised max(0, p − q); from p when the two agree everywhere. */
    static int residual(double[] p, float[] q, SplittableRandom random) {
        double[] r = new double[p.length];
        double z = 0;
        for (int i = 0; i < p.length; i++) {
            double d = p[i] - q[i];
            if (d > 0) {
                r[i] = d;
                z += d;
            }
        }
        if (!(z > 0)) return draw(p, random);
        return drawFrom(r.length, i -> r[i], z, random);
    }

    /** A draw from the distribution {@code p} (summing to 1). */
    static int draw(double[] p, SplittableRandom random) {
        return drawFrom(p.length, i -> p[i], 1.0, random);
    }

    static int draw(float[] q, SplittableRandom random) {
        return drawFrom(q.length, i -> q[i], 1.0, random);
    }

    /** Walks the weights until their running sum passes {@code u · total}; the last positive one on rounding. */
    private static int drawFrom(int n, java.util.function.IntToDoubleFunction weight, double total, SplittableRandom random) {
        double u = random.nextDouble() * total, c = 0;
        int last = -1;
        for (int i = 0; i < n; i++) {
            double w = weight.applyAsDouble(i);
            if (w <= 0) continue;
            last = i;
            c += w;
            if (u < c) return i;
        }
        if (last < 0) throw new IllegalStateException("every token was filtered out: nothing to draw");
        return last;
    }

    private static float[] oneHot(int v, int token) {
        float[] q = new float[v];
        q[token] = 1f;
        return q;
    }

    private static float[] toFloat(double[] p) {
        float[] q = new float[p.length];
        for (int i = 0; i < p.length; i++) q[i] = (float) p[i];
        return q;
    }
}
