package dev.cm3leon.engine;

import dev.cm3leon.Cm3LeonException;

/**
 * A request's KV cache does not fit: it would pass the engine's {@link KvCacheBudget}, or the memory is not there.
 * Thrown before the request's first step; the model keeps serving other requests.
 */
public final class KvCacheMemoryException extends Cm3LeonException {
    public KvCacheMemoryException(String message) {
        super(message);
    }

    public KvCacheMemoryException(String message, Throwable cause) {
        super(message, cause);
    }
}
