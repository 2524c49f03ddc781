package dev.cm3leon.tokenizer;

/** What a split does with the delimiters it finds; the names are those of {@code tokenizer.json}. */
enum SplitBehavior {
    /** Delimiters are dropped. */
    REMOVED,
    /** Each delimiter is a piece of its own. */
    ISOLATED,
    /** A delimiter is glued to the piece before it. */
    MERGED_WITH_PREVIOUS,
    /** A delimiter is glued to the piece after it. */
    MERGED_WITH_NEXT,
    /** Consecutive delimiters form one piece. */
    CONTIGUOUS;

    static SplitBehavior fromJson(String name) {
        return switch (name) {
            case "Removed" -> REMOVED;
            case "Isolated" -> ISOLATED;
            case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> MERGED_WITH_NEXT;
            case "Contiguous" -> CONTIGUOUS;
            default -> throw new IllegalArgumentException("unknown split behavior '" + name
                    + "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
        };
    }

    /**
     * Splits {@code text} at the matches of {@code pattern} (or between them when {@code invert}); the pieces come
     * back as flattened {@code [start, end)} pairs, empty pieces left out.
     */
    IntList ranges(String text, TextPattern pattern, boolean invert) {
        IntList segments = pattern.segments(text);
        int n = segments.size() / 3;
        // Kept pieces as [start, end) pairs; the folds below follow HF's NormalizedString::split.
        IntList kept = new IntList(n * 2);
        switch (this) {
            case ISOLATED -> {
                for (int i = 0; i < n; i++) {
                    keep(kept, start(segments, i), end(segments, i));
                }
            }
            case REMOVED -> {
                for (int i = 0; i < n; i++) {
                    if (!isMatch(segments, i, invert)) {
                        keep(kept, start(segments, i), end(segments, i));
                    }
                }
            }
            case CONTIGUOUS -> {
                boolean previousMatch = false;
                for (int i = 0; i < n; i++) {
                    boolean match = isMatch(segments, i, invert);
                    if (match == previousMatch && kept.size() > 0) {
                        extendLast(kept, end(segments, i));
                    } else {
                        keep(kept, start(segments, i), end(segments, i));
                    }
                    previousMatch = match;
                }
            }
            case MERGED_WITH_PREVIOUS -> {
                boolean previousMatch = false;
                for (int i = 0; i < n; i++) {
                    boolean match = isMatch(segments, i, invert);
                    if (match && !previousMatch && kept.size() > 0) {
                        extendLast(kept, end(segments, i));
                    } else {
                        keep(kept, start(segments, i), end(segments, i));
                    }
                    previousMatch = match;
                }
            }
            case MERGED_WITH_NEXT -> {
                // Walk backwards so that a delimiter can join the piece after it.
                IntList reversed = new IntList(n * 2);
                boolean previousMatch = false;
                for (int i = n - 1; i >= 0; i--) {
                    boolean match = isMatch(segments, i, invert);
                    if (match && !previousMatch && reversed.size() > 0) {
                        reversed.set(reversed.size() - 2, start(segments, i));
                    } else {
                        keep(reversed, start(segments, i), end(segments, i));
                    }
                    previousMatch = match;
                }
                for (int i = reversed.size() - 2; i >= 0; i -= 2) {
                    keep(kept, reversed.get(i), reversed.get(i + 1));
                }
            }
        }
        IntList nonEmpty = new IntList(kept.size());
        for (int i = 0; i < kept.size(); i += 2) {
            if (kept.get(i) < kept.get(i + 1)) {
                keep(nonEmpty, kept.get(i), kept.get(i + 1));
            }
        }
        return nonEmpty;
    }

    private static int start(IntList segments, int i) {
        return segments.get(3 * i);
    }

    private static int end(IntList segments, int i) {
        return segments.get(3 * i + 1);
    }

    private static boolean isMatch(IntList segments, int i, boolean invert) {
        return (segments.get(3 * i + 2) == 1) != invert;
    }

    private static void keep(IntList kept, int start, int end) {
        kept.add(start);
        kept.add(end);
    }

    private static void extendLast(IntList kept, int end) {
        kept.set(kept.size() - 1, end);
    }
}
