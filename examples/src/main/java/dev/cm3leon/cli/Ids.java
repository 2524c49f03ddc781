package dev.cm3leon.cli;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.vq.ImageFiles;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/** Small parsing and output helpers shared by the commands. */
final class Ids {
    private Ids() {
    }

    /** "0,5,7" → {0, 5, 7}; a clear error for anything else. */
    static int[] parse(String option, String csv) {
        if (csv == null || csv.isBlank()) throw new Cm3LeonException(option + ": expected comma-separated token ids, got nothing");
        String[] parts = csv.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i].trim();
            try {
                ids[i] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new Cm3LeonException(option + ": '" + p + "' is not a token id");
            }
            if (ids[i] < 0) throw new Cm3LeonException(option + ": token id " + ids[i] + " is negative");
        }
        return ids;
    }

    static String join(int[] ids) {
        return Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
    }

    /** Writes through a temporary file in the same folder and moves it into place, so a failure leaves no half file. */
    static void writeAtomically(Path target, ImageFiles.Writer writer) {
        ImageFiles.writeAtomically(target, writer);
    }
}
