package dev.cm3leon.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How much memory the KV caches of one engine may hold at once. A cache reserves its bytes before it allocates, so a
 * request too large for what is left fails with a {@link KvCacheMemoryException} instead of driving the JVM out of
 * memory, and the requests already running are unaffected. Closing a cache returns its reservation.
 */
public final class KvCacheBudget {
    /** System property overriding the default budget, in bytes or with a k/m/g suffix ({@code 512m}, {@code 6g}). */
    public static final String PROPERTY = "cm3leon.kvCacheBudget";

    private final long limitBytes;
    private final AtomicLong reserved = new AtomicLong();

    public KvCacheBudget(long limitBytes) {
        if (limitBytes <= 0) throw new IllegalArgumentException("a KV cache budget must be positive, got " + limitBytes);
        this.limitBytes = limitBytes;
    }

    /**
     * The budget {@code options} ask for; else {@link #PROPERTY}; else three quarters of the maximum heap, leaving the
     * rest for activations, logits and the application.
     */
    public static KvCacheBudget of(EngineOptions options) {
        if (options.kvCacheBytes() > 0) return new KvCacheBudget(options.kvCacheBytes());
        String property = System.getProperty(PROPERTY);
        if (property != null && !property.isBlank()) return new KvCacheBudget(parseSize(property));
        return new KvCacheBudget(Runtime.getRuntime().maxMemory() / 4 * 3);
    }

    /** {@code 1234}, {@code 512k}, {@code 64m}, {@code 6g}. */
    public static long parseSize(String text) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        long unit = switch (s.isEmpty() ? ' ' : s.charAt(s.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            case 't' -> 1L << 40;
            default -> 1;
        };
        String digits = unit == 1 ? s : s.substring(0, s.length() - 1);
        try {
            return Math.multiplyExact(Long.parseLong(digits.trim()), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("not a size: '" + text + "' (bytes, or a number with k, m, g or t)");
        }
    }

    public long limitBytes() {
        return limitBytes;
    }

    /** Bytes held by open caches now. */
    public long reservedBytes() {
        return reserved.get();
    }

    /**
     * Takes {@code bytes} from the budget or throws, naming {@code what} needed them and what is left. The returned
     * action gives them back; it must run exactly once.
     */
    public Runnable reserve(long bytes, String what) {
        while (true) {
            long now = reserved.get();
            if (bytes > limitBytes - now) {
                throw new KvCacheMemoryException(what + " needs " + size(bytes) + " but " + size(limitBytes - now) + " of the "
                        + size(limitBytes) + " KV cache budget are free (raise it with EngineOptions.withKvCacheBudget or -D"
                        + PROPERTY + ")", bytes > limitBytes);
            }
            if (reserved.compareAndSet(now, now + bytes)) return () -> reserved.addAndGet(-bytes);
        }
    }

    /**
     * Takes the sum of {@code bytes} at once, or nothing; returns one give-back action per part, so that the parts can
     * be returned as their caches close one by one.
     */
    public List<Runnable> reserveAll(long[] bytes, String what) {
        long total = 0;
        for (long b : bytes) total = Math.addExact(total, b);
        reserve(total, what);
        List<Runnable> parts = new ArrayList<>(bytes.length);
        for (long b : bytes) parts.add(() -> reserved.addAndGet(-b));
        return parts;
    }

    static String size(long bytes) {
        if (bytes >= 1L << 30) return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
        if (bytes >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        if (bytes >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", bytes / (double) (1L << 10));
        return bytes + " bytes";
    }
}
