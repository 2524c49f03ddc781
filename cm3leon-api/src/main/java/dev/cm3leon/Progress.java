package dev.cm3leon;

/** How far a request is: tokens done of the tokens it will produce at most (an image's grid is known in advance). */
public record Progress(int done, int total) {
    public double percent() {
        return total == 0 ? 100.0 : Math.min(100.0, 100.0 * done / total);
    }
}
