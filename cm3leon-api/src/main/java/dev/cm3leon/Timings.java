package dev.cm3leon;

import java.time.Duration;

/** Where a request's time went: prefill (all prompt streams at once) and decode (one pass per step). */
public record Timings(Duration prefill, Duration decode, int steps, int streams) {
    /** Decode steps per second (each step yields one token per sample). */
    public double stepsPerSecond() {
        double s = decode.toNanos() / 1e9;
        return s > 0 ? steps / s : 0;
    }
}
