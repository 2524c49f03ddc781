package dev.cm3leon.retrieval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.checkpoint.CheckpointException;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * HF's {@code CLIPImageProcessor}: RGB, resize so the shortest edge is {@code shortestEdge} (long edge
 * {@code int(S·long/short)}, truncated) with Pillow's filter, centre crop (zero padding where the image is smaller),
 * {@code float32(float64(u8)·rescaleFactor)}, then {@code (x − mean)/std} in float32, HWC → CHW. The arithmetic
 * follows the reference's, so the output is bit-exact when the resize is.
 *
 * @param shortestEdge the resize target of the shorter side; 0 when the config gives a fixed {@code height} and
 *                     {@code width} instead ({@code resizeHeight × resizeWidth}, aspect ratio not kept)
 * @param resample     Pillow's filter code (3 = bicubic, the CLIP default)
 */
public record ClipImageProcessor(boolean doResize, int shortestEdge, int resizeHeight, int resizeWidth, int resample,
                                 boolean doCenterCrop, int cropHeight,
                                 int cropWidth, boolean doRescale, double rescaleFactor, boolean doNormalize,
                                 float[] mean, float[] std) {
    /** OpenAI CLIP's values, used for fields a {@code preprocessor_config.json} leaves out. */
    public static final float[] OPENAI_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] OPENAI_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    public ClipImageProcessor {
        if (mean.length != 3 || std.length != 3) throw new IllegalArgumentException("mean and std need 3 channels");
        mean = mean.clone();
        std = std.clone();
        PilResampler.Filter.ofCode(resample);
        if (doResize && shortestEdge < 1 && (resizeHeight < 1 || resizeWidth < 1)) {
            throw new IllegalArgumentException("resizing needs a shortest edge or a height and width");
        }
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** The processor for a CLIP folder's {@code preprocessor_config.json}; OpenAI's defaults at {@code size} if absent. */
    public static ClipImageProcessor load(Path folder, int imageSize) {
        Path file = folder.resolve("preprocessor_config.json");
        if (!Files.isRegularFile(file)) {
            return new ClipImageProcessor(true, imageSize, 0, 0, 3, true, imageSize, imageSize, true, 1.0 / 255, true,
                    OPENAI_MEAN, OPENAI_STD);
        }
        JsonNode c;
        try {
            c = new ObjectMapper().readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw CheckpointException.of(file, "cannot read: " + e.getMessage());
        }
        JsonNode size = c.path("size"), crop = c.path("crop_size");
        boolean fixed = size.has("height") && size.has("width") && !size.has("shortest_edge");
        int shortest = fixed ? 0 : size.isInt() ? size.asInt() : size.path("shortest_edge").asInt(imageSize);
        int cropH = crop.isInt() ? crop.asInt() : crop.path("height").asInt(imageSize);
        int cropW = crop.isInt() ? crop.asInt() : crop.path("width").asInt(imageSize);
        return new ClipImageProcessor(c.path("do_resize").asBoolean(true), shortest, size.path("height").asInt(0),
                size.path("width").asInt(0), c.path("resample").asInt(3),
                c.path("do_center_crop").asBoolean(true), cropH, cropW,
                c.path("do_rescale").asBoolean(true), c.path("rescale_factor").asDouble(1.0 / 255),
                c.path("do_normalize").asBoolean(true), floats(c.get("image_mean"), OPENAI_MEAN, file),
                floats(c.get("image_std"), OPENAI_STD, file));
    }

    private static float[] floats(JsonNode n, float[] dflt, Path file) {
        if (n == null || n.isNull()) return dflt;
        if (!n.isArray() || n.size() != 3) throw CheckpointException.of(file, "image_mean and image_std need 3 numbers");
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) out[i] = (float) n.get(i).asDouble();   // the reference casts to the image's float32
        return out;
    }

    /** Pixel values [3, H, W] (channel-major) for one image. */
    public float[] preprocess(BufferedImage image) {
        return preprocess(RgbImage.of(image));
    }

    float[] preprocess(RgbImage in) {
        RgbImage img = resized(in);
        int h = doCenterCrop ? cropHeight : img.height(), w = doCenterCrop ? cropWidth : img.width();
        // Python floor division: negative offsets mean the crop is larger, and the border is zero.
        int top = doCenterCrop ? Math.floorDiv(img.height() - h, 2) : 0;
        int left = doCenterCrop ? Math.floorDiv(img.width() - w, 2) : 0;
        float[] out = new float[3 * h * w];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                int sy = top + y;
                for (int x = 0; x < w; x++) {
                    int sx = left + x;
                    int u8 = sy >= 0 && sy < img.height() && sx >= 0 && sx < img.width() ? img.get(sx, sy, c) : 0;
                    float v = doRescale ? (float) (u8 * rescaleFactor) : u8;
                    if (doNormalize) v = (v - mean[c]) / std[c];
                    out[(c * h + y) * w + x] = v;
                }
            }
        }
        return out;
    }

    /** The image after the resize step (before the crop), 8-bit. */
    RgbImage resized(RgbImage in) {
        if (!doResize) return in;
        int[] hw = resizedSize(in);
        return PilResampler.resize(in, hw[1], hw[0], PilResampler.Filter.ofCode(resample));
    }

    private int[] resizedSize(RgbImage in) {
        if (!doResize) return new int[]{in.height(), in.width()};
        if (shortestEdge == 0) return new int[]{resizeHeight, resizeWidth};
        int shortSide = Math.min(in.width(), in.height()), longSide = Math.max(in.width(), in.height());
        int newLong = (int) ((double) shortestEdge * longSide / shortSide);
        return in.width() <= in.height() ? new int[]{newLong, shortestEdge} : new int[]{shortestEdge, newLong};
    }
}
