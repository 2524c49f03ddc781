package dev.cm3leon;

import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.SamplerStage;
import dev.cm3leon.decode.Scorer;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * The fluent part every request shares: decoding parameters (validated as they are set), samples and re-ranking,
 * progress, streaming, deadline, and the three ways to run it.
 *
 * @param <R>    the result type
 * @param <SELF> the concrete request, so chained calls keep their type
 */
public abstract sealed class Request<R, SELF extends Request<R, SELF>>
        permits TextToImageRequest, ImageToTextRequest, InfillRequest, InterleavedRequest {
    final Cm3Leon model;
    final DecodingOptions options;
    Scorer scorer;
    Consumer<Progress> progress;
    Consumer<TokenEvent> listener;
    Duration deadline;
    boolean truncatePrompt;
    Integer maxTokens;
    RetrievalSpec retrieval;

    Request(Cm3Leon model, DecodingOptions defaults) {
        this.model = model;
        this.options = defaults.copy();
    }

    @SuppressWarnings("unchecked")
    final SELF self() {
        return (SELF) this;
    }

    /** 2-stream classifier-free guidance; 1 means none. */
    public SELF guidance(double scale) {
        options.guidance(scale);
        return self();
    }

    public SELF guidance(double scale, DecodingOptions.Unconditional unconditional) {
        options.guidance(scale, unconditional);
        return self();
    }

    /** 3-stream guidance: image scale and text scale (Meta/Anole). */
    public SELF guidance(double imageScale, double textScale) {
        options.guidance(imageScale, textScale);
        return self();
    }

    public SELF noGuidance() {
        options.noGuidance();
        return self();
    }

    /** Temperature; 0 means greedy. Setting a positive temperature turns sampling on. */
    public SELF temperature(double t) {
        options.temperature(t);
        if (t > 0) options.greedy(false);
        return self();
    }

    public SELF topP(double p) {
        options.topP(p);
        options.greedy(false);
        return self();
    }

    public SELF topK(int k) {
        options.topK(k);
        options.greedy(false);
        return self();
    }

    public SELF minP(double p) {
        options.minP(p);
        options.greedy(false);
        return self();
    }

    public SELF greedy() {
        options.greedy(true);
        return self();
    }

    public SELF repetitionPenalty(double penalty) {
        options.repetitionPenalty(penalty);
        return self();
    }

    /** Contrastive decoding top-k against the unconditional stream, for every sample. */
    public SELF contrastive(int k, double alpha) {
        options.contrastive(k, alpha);
        return self();
    }

    /** Half the samples with top-p, half with CD-K, all re-ranked together (the paper's ½TopP + ½CD-K). */
    public SELF halfTopPHalfContrastive() {
        options.strategy(DecodingOptions.Strategy.HALF_TOP_P_HALF_CONTRASTIVE);
        options.greedy(false);
        return self();
    }

    /**
     * Speculative Jacobi decoding of the image tokens this request generates, with a window of {@code window} drafts
     * verified per pass (0 turns it off). The tokens keep plain sampling's distribution; only the number of passes
     * changes. Requests whose output is text refuse it.
     */
    public SELF speculative(int window) {
        if (this instanceof ImageToTextRequest && window > 0) {
            throw new InvalidRequestException("speculative decoding applies to image tokens; image-to-text output is text");
        }
        options.speculative(window);
        return self();
    }

    public SELF seed(long seed) {
        options.seed(seed);
        return self();
    }

    /** Decode {@code n} samples in one batch; the best by the scorer (or the first) is the result. */
    public SELF samples(int n) {
        options.samples(n);
        return self();
    }

    public SELF rerankBy(Scorer scorer) {
        this.scorer = Objects.requireNonNull(scorer, "scorer");
        return self();
    }

    /** A user stage, run after the built-in penalties and before temperature and truncation. */
    public SELF addStage(SamplerStage stage) {
        options.addStage(stage);
        return self();
    }

    public SELF onProgress(Consumer<Progress> listener) {
        this.progress = Objects.requireNonNull(listener, "listener");
        return self();
    }

    /** Stop with a {@link CancellationException} once this much time has passed since the request started. */
    public SELF deadline(Duration d) {
        if (d == null || d.isNegative() || d.isZero()) throw new InvalidRequestException("deadline must be positive, got " + d);
        this.deadline = d;
        return self();
    }

    /** Upper bound on new tokens (text requests; an image's length is its grid). */
    public SELF maxTokens(int n) {
        if (n < 1) throw new InvalidRequestException("maxTokens must be ≥ 1, got " + n);
        this.maxTokens = n;
        return self();
    }

    /** Drop the oldest prompt tokens (after BOS) instead of failing when the prompt does not fit the context. */
    public SELF truncatePrompt(boolean on) {
        this.truncatePrompt = on;
        return self();
    }

    /** Prepend {@code k} documents retrieved from {@code bank} for the request's query (CM3Leon's retrieval). */
    public SELF retrieve(Retrieval retriever, int k) {
        if (k < 1) throw new InvalidRequestException("retrieve k must be ≥ 1, got " + k);
        this.retrieval = new RetrievalSpec(Objects.requireNonNull(retriever, "retriever"), k);
        return self();
    }

    record RetrievalSpec(Retrieval retriever, int k) {
    }

    /** Runs now, on the calling thread. */
    public R generate() {
        return run(control());
    }

    /** As {@link #generate()}, handing each token to {@code listener} as it comes. */
    public R stream(Consumer<TokenEvent> listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return generate();
    }

    /**
     * Runs on the model's request executor. Cancelling the future stops the work within one step and returns its KV
     * memory.
     */
    public CompletableFuture<R> generateAsync() {
        GenerationControl control = control();
        CompletableFuture<R> future = new CompletableFuture<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                control.cancel();
                return super.cancel(mayInterruptIfRunning);
            }
        };
        model.executor().execute(() -> {
            if (future.isDone()) return;
            try {
                future.complete(run(control));
            } catch (Throwable t) {
                future.completeExceptionally(t);
            }
        });
        return future;
    }

    private GenerationControl control() {
        return new GenerationControl(deadline == null ? null : Instant.now().plus(deadline));
    }

    private R run(GenerationControl control) {
        model.checkpoint().requireIntact();
        return execute(control);
    }

    abstract R execute(GenerationControl control);
}
