package dev.cm3leon.vq;

import java.util.ArrayList;
import java.util.List;

/**
 * Puts images into a prompt the way HF's Chameleon does with {@code pixel_values}: the prompt carries one run of
 * {@code <image>} placeholder ids per image, and the runs are replaced, in order, by the images' BPE ids (HF's
 * {@code masked_scatter}). Each run must be exactly one image long.
 */
public final class ImagePlaceholders {
    /** A run of placeholders: first position and length. */
    public record Run(int start, int length) {
    }

    private ImagePlaceholders() {
    }

    /** The maximal runs of {@code placeholderId} in {@code ids}, in order. */
    public static List<Run> runs(int[] ids, int placeholderId) {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < ids.length; ) {
            if (ids[i] != placeholderId) {
                i++;
                continue;
            }
            int start = i;
            while (i < ids.length && ids[i] == placeholderId) i++;
            runs.add(new Run(start, i - start));
        }
        return runs;
    }

    /**
     * Checks that {@code ids} has one run of placeholders per image and that every run is one image long.
     *
     * @return the runs
     * @throws VqException naming the run or the count that does not fit
     */
    public static List<Run> check(int[] ids, int placeholderId, int tokensPerImage, int images) {
        List<Run> runs = runs(ids, placeholderId);
        if (runs.size() != images) {
            throw new VqException("the prompt has " + runs.size() + " run(s) of <image> placeholders (id " + placeholderId
                    + ") but " + images + " image(s) were given");
        }
        for (Run run : runs) {
            if (run.length() != tokensPerImage) {
                throw new VqException("the <image> run at position " + run.start() + " has " + run.length()
                        + " placeholders; an image takes " + tokensPerImage + " tokens");
            }
        }
        return runs;
    }

    /**
     * A copy of {@code ids} with run {@code k} of placeholders replaced by {@code imageTokens.get(k)}.
     *
     * @throws VqException when the number of runs differs from the number of images, or a run or an image is not
     *                     {@code tokensPerImage} long
     */
    public static int[] fill(int[] ids, int placeholderId, int tokensPerImage, List<int[]> imageTokens) {
        List<Run> runs = check(ids, placeholderId, tokensPerImage, imageTokens.size());
        int[] out = ids.clone();
        for (int k = 0; k < runs.size(); k++) {
            int[] tokens = imageTokens.get(k);
            if (tokens.length != tokensPerImage) {
                throw new VqException("image " + k + " has " + tokens.length + " tokens; the placeholders expect " + tokensPerImage);
            }
            System.arraycopy(tokens, 0, out, runs.get(k).start(), tokensPerImage);
        }
        return out;
    }
}
