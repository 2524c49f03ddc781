package dev.cm3leon.retrieval;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Query dropout (CM3Leon §2.2): drop a fraction of the query's tokens before embedding it, so that repeated queries
 * retrieve more diverse documents. Exactly {@code round(rate·n)} tokens go, chosen uniformly, at least one stays;
 * the order of the rest is kept. Deterministic for a given random generator state.
 */
final class QueryDropout {
    private QueryDropout() {
    }

    static <T> List<T> apply(List<T> tokens, double rate, RandomGenerator random) {
        if (!(rate >= 0 && rate < 1)) throw new IllegalArgumentException("dropout rate must be in [0, 1), found " + rate);
        int n = tokens.size();
        int drop = Math.min(n - 1, (int) Math.round(rate * n));
        if (drop <= 0) return List.copyOf(tokens);
        // partial Fisher–Yates over indices: the first `drop` slots name the dropped tokens
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        boolean[] dropped = new boolean[n];
        for (int i = 0; i < drop; i++) {
            int j = i + random.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            dropped[idx[i]] = true;
        }
        List<T> kept = new ArrayList<>(n - drop);
        for (int i = 0; i < n; i++) if (!dropped[i]) kept.add(tokens.get(i));
        return kept;
    }
}
