package dev.cm3leon;

import java.util.Arrays;

/**
 * What speculative Jacobi decoding did for a request: the window, the passes over the weights it took, and per window
 * position how many drafts were verified and how many accepted (all samples together).
 */
public record Speculation(int window, int passes, long[] drafted, long[] accepted) {
    public Speculation {
        drafted = drafted.clone();
        accepted = accepted.clone();
    }

    @Override
    public long[] drafted() {
        return drafted.clone();
    }

    @Override
    public long[] accepted() {
        return accepted.clone();
    }

    /** Accepted ÷ verified at each window position (NaN where none was verified). */
    public double[] acceptanceByPosition() {
        double[] r = new double[drafted.length];
        for (int i = 0; i < r.length; i++) r[i] = drafted[i] == 0 ? Double.NaN : (double) accepted[i] / drafted[i];
        return r;
    }

    @Override
    public String toString() {
        return "Speculation[window " + window + ", " + passes + " passes, acceptance by position "
                + Arrays.toString(Arrays.stream(acceptanceByPosition()).map(a -> Math.round(a * 1000) / 1000.0).toArray()) + "]";
    }
}
