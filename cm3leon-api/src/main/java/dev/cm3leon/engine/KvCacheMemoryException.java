package dev.cm3leon.engine;

import dev.cm3leon.Cm3LeonException;

/**
 * A request's KV cache does not fit: it would pass the engine's {@link KvCacheBudget}, or the memory is not there.
 * Thrown before the request's first step; the model keeps serving other requests.
 */
public final class KvCacheMemoryException extends Cm3LeonException {
    private final boolean exceedsBudget;

    public KvCacheMemoryException(String message) {
        this(message, false);
    }

    public KvCacheMemoryException(String message, Throwable cause) {
        super(message, cause);
        this.exceedsBudget = false;
    }

    /** {@code exceedsBudget}: the request needs more than the whole budget, so waiting for room would not help. */
    public KvCacheMemoryException(String message, boolean exceedsBudget) {
        super(message);
        this.exceedsBudget = exceedsBudget;
    }

    /** Whether the request could never fit, even with no other request running. */
    public boolean exceedsBudget() {
        return exceedsBudget;
    }
}
