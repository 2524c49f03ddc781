package dev.cm3leon.engine;

/**
 * The keys and values one stream has seen, owned by one request. Closing returns its memory; a closed cache cannot be
 * used again.
 */
public interface KvCache extends AutoCloseable {
    /** Positions filled so far (the next token goes at this position). */
    int length();

    /** Positions this cache can hold. */
    int capacity();

    /** Forgets every position from {@code length} on, so a shared prefix can be reused. */
    void truncate(int length);

    @Override
    void close();
}
