package dev.cm3leon.decode;

import java.time.Instant;
import java.util.concurrent.CancellationException;

/** Stops a generation between steps: cancellation, a deadline, or an interrupted thread. */
public final class GenerationControl {
    private volatile boolean cancelled;
    private final Instant deadline;

    public GenerationControl(Instant deadline) {
        this.deadline = deadline;
    }

    public static GenerationControl none() {
        return new GenerationControl(null);
    }

    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** Throws if the work should stop now. */
    public void check() {
        if (cancelled) throw new CancellationException("the request was cancelled");
        if (Thread.currentThread().isInterrupted()) throw new CancellationException("the request's thread was interrupted");
        if (deadline != null && Instant.now().isAfter(deadline)) {
            throw new DeadlineExceededException("the request passed its deadline (" + deadline + ")");
        }
    }

    /** The request ran past its deadline. */
    public static final class DeadlineExceededException extends CancellationException {
        public DeadlineExceededException(String message) {
            super(message);
        }
    }
}
