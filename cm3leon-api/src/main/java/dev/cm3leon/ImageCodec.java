package dev.cm3leon;

import java.awt.image.BufferedImage;

/** Turns images into codebook indices on a token grid and back (a VQ-GAN). */
public interface ImageCodec {
    /** Side of the token grid for one image. */
    int gridSize();

    /** Codebook size. */
    int codebookSize();

    /** Codebook indices of {@code image}, row-major [grid, grid]. */
    int[] encode(BufferedImage image);

    /** Whether {@link #decode} is possible (a checkpoint may carry only the encoder). */
    boolean canDecode();

    /** An RGB image from row-major codebook indices on a {@code gridH × gridW} grid. */
    BufferedImage decode(int[] codes, int gridH, int gridW);
}
