package dev.cm3leon;

import dev.cm3leon.vq.CodeGrid;
import dev.cm3leon.vq.ImagePreprocessor;
import dev.cm3leon.vq.VqGan;

import java.awt.image.BufferedImage;
import java.util.function.Supplier;

/** The checkpoint's VQ-GAN as the requests see it, built on first use. */
final class VqImageCodec implements ImageCodec {
    private final Supplier<VqGan> vq;
    private final Supplier<ImagePreprocessor> preprocessor;

    VqImageCodec(Supplier<VqGan> vq, Supplier<ImagePreprocessor> preprocessor) {
        this.vq = vq;
        this.preprocessor = preprocessor;
    }

    @Override
    public int gridSize() {
        return vq.get().config().gridSize();
    }

    @Override
    public int codebookSize() {
        return vq.get().codebookSize();
    }

    @Override
    public int[] encode(BufferedImage image) {
        return vq.get().encode(preprocessor.get().preprocess(image)).codes();
    }

    @Override
    public int pixelsPerCode() {
        return vq.get().config().resolution() / vq.get().config().gridSize();
    }

    @Override
    public int[] encode(BufferedImage image, int rows, int cols) {
        if (rows == gridSize() && cols == gridSize()) return encode(image);
        int p = pixelsPerCode();
        ImagePreprocessor fit = preprocessor.get().coveringCrop(cols * p, rows * p, image.getWidth(), image.getHeight());
        return vq.get().encode(fit.preprocess(image)).codes();
    }

    @Override
    public boolean canDecode() {
        return vq.get().canDecode();
    }

    @Override
    public BufferedImage decode(int[] codes, int gridH, int gridW) {
        return vq.get().decodeImage(new CodeGrid(gridH, gridW, codes));
    }
}
