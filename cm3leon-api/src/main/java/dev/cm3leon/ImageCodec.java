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

    /** Pixels along a side of one code's square (the VQ-GAN's downsampling factor). */
    default int pixelsPerCode() {
        return 16;
    }

    /**
     * Codebook indices of {@code image} on a {@code rows × cols} grid: resized to cover
     * {@code cols·pixelsPerCode × rows·pixelsPerCode} pixels and centre-cropped to them. The default grid is
     * {@link #encode(BufferedImage)}; a codec that knows no other refuses the rest.
     */
    default int[] encode(BufferedImage image, int rows, int cols) {
        if (rows == gridSize() && cols == gridSize()) return encode(image);
        throw new InvalidRequestException("this image codec encodes " + gridSize() + "×" + gridSize() + " grids only, not "
                + rows + "×" + cols);
    }

    /** Whether {@link #decode} is possible (a checkpoint may carry only the encoder). */
    boolean canDecode();

    /** An RGB image from row-major codebook indices on a {@code gridH × gridW} grid. */
    BufferedImage decode(int[] codes, int gridH, int gridW);
}
