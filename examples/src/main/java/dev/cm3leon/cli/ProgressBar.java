package dev.cm3leon.cli;

import java.io.PrintStream;
import java.time.Duration;

/** A one-line progress bar on stderr, redrawn at most ten times a second and finished with a newline. */
final class ProgressBar {
    private static final int WIDTH = 30;
    private final PrintStream err;
    private final String label;
    private final long total;
    private final long start = System.nanoTime();
    private long lastDraw, lastDrawn = -1;

    ProgressBar(PrintStream err, String label, long total) {
        this.err = err;
        this.label = label;
        this.total = Math.max(1, total);
    }

    void update(long done) {
        long now = System.nanoTime();
        if (done < total && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        lastDrawn = done;
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        double rate = done / seconds;
        int filled = (int) (WIDTH * Math.min(1.0, done / (double) total));
        String eta = rate > 0 && done < total ? " ETA " + format(Duration.ofSeconds((long) ((total - done) / rate))) : "";
        err.printf("\r%s [%s%s] %d/%d %.1f/s%s   ", label, "#".repeat(filled), ".".repeat(WIDTH - filled), done, total, rate, eta);
        err.flush();
    }

    void finish(long done) {
        if (lastDrawn != done) {
            lastDraw = 0;
            update(done);
        }
        err.println();
    }

    private static String format(Duration d) {
        return d.toHours() > 0 ? d.toHours() + "h" + d.toMinutesPart() + "m" : d.toMinutes() > 0 ? d.toMinutes() + "m" + d.toSecondsPart() + "s" : d.toSeconds() + "s";
    }
}
