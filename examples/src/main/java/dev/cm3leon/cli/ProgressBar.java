package dev.cm3leon.cli;

import dev.cm3leon.Progress;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.function.Consumer;

/** A one-line progress bar on stderr, redrawn in place at most ten times a second, with rate and ETA. */
final class ProgressBar implements Consumer<Progress> {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final String label;
    private final String unit;
    private final long start = System.nanoTime();
    private long lastDraw, lastDrawn = -1;
    private boolean finished;

    ProgressBar(PrintWriter err, String label, String unit) {
        this.err = err;
        this.label = label;
        this.unit = unit;
    }

    /** For generation requests: tokens done of tokens at most. */
    ProgressBar(PrintWriter err, String label) {
        this(err, label, "tokens");
    }

    @Override
    public void accept(Progress p) {
        update(p.done(), p.total());
    }

    synchronized void update(long done, long total) {
        total = Math.max(1, total);
        long now = System.nanoTime();
        if (finished || (done < total && now - lastDraw < 100_000_000L)) return;
        lastDraw = now;
        lastDrawn = done;
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        double rate = done / seconds;
        int filled = (int) (WIDTH * Math.min(1.0, done / (double) total));
        String eta = rate > 0 && done < total ? " ETA " + format(Duration.ofSeconds((long) ((total - done) / rate))) : "";
        err.printf("\r%s [%s%s] %d/%d %s %.1f/s%s   ", label, "#".repeat(filled), ".".repeat(WIDTH - filled), done, total,
                unit, rate, eta);
        if (done >= total) {
            err.println();
            finished = true;
        }
        err.flush();
    }

    /** Draws the final state and ends the line. */
    synchronized void finish(long done, long total) {
        if (!finished) {
            lastDraw = 0;
            update(total, total);
        }
    }

    private static String format(Duration d) {
        return d.toHours() > 0 ? d.toHours() + "h" + d.toMinutesPart() + "m"
                : d.toMinutes() > 0 ? d.toMinutes() + "m" + d.toSecondsPart() + "s" : d.toSeconds() + "s";
    }
}
