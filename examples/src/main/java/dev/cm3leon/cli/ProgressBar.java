package dev.cm3leon.cli;

import dev.cm3leon.Progress;

import java.io.PrintWriter;
import java.util.function.Consumer;

/** A one-line progress bar on stderr, redrawn in place. */
final class ProgressBar implements Consumer<Progress> {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final String label;
    private final long start = System.nanoTime();
    private int lastDrawn = -1;

    ProgressBar(PrintWriter err, String label) {
        this.err = err;
        this.label = label;
    }

    @Override
    public synchronized void accept(Progress p) {
        int filled = (int) Math.round(p.percent() / 100.0 * WIDTH);
        int percent = (int) p.percent();
        if (percent == lastDrawn) return;
        lastDrawn = percent;
        double seconds = (System.nanoTime() - start) / 1e9;
        err.printf("\r%s [%s%s] %3d%% %d/%d tokens %.1fs", label, "#".repeat(filled), ".".repeat(WIDTH - filled), percent,
                p.done(), p.total(), seconds);
        if (p.done() >= p.total()) err.println();
        err.flush();
    }
}
