package dev.cm3leon.vq;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.checkpoint.CheckpointException;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Turns an image into the VQ encoder's pixel values [3, S, S], as the reference does before tokenising it.
 *
 * <p>HF's {@code ChameleonImageProcessor} ({@link #fromConfig}, {@link #chameleon}): transparency blended onto white,
 * the shortest side resized to {@code size.shortest_edge} (the long side {@code ⌊S·long/short⌋}) with Pillow's
 * filter, centre crop to {@code crop_size}, {@code x = float32(float64(u8)·rescale_factor)}, then
 * {@code (x − mean)/std} in float32, channels first. Meta's image tokenizer ({@link #meta}) differs in two places:
 * the long side is rounded ({@code round(S/short·long)}, half to even) and pixels map to
 * {@code float32(u8/255·2 − 1)}.
 *
 * <p>Immutable and thread-safe.
 */
public final class ImagePreprocessor {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Meta's and HF's conventions, where they differ. */
    private enum Style { HF, META }

    private final Style style;
    private final int shortestEdge, cropWidth, cropHeight;
    private final boolean resize, centerCrop, rescale, normalize;
    private final double rescaleFactor;
    private final float[] mean, std;
    private final ResampleFilter filter;
    private final long maxPixels;

    private ImagePreprocessor(Style style, int shortestEdge, int cropWidth, int cropHeight, boolean resize,
                              boolean centerCrop, boolean rescale, boolean normalize, double rescaleFactor,
                              float[] mean, float[] std, ResampleFilter filter, long maxPixels) {
        if (shortestEdge < 1 || cropWidth < 1 || cropHeight < 1) throw new IllegalArgumentException("sizes must be positive");
        if (maxPixels < 1) throw new IllegalArgumentException("the pixel budget must be positive, got " + maxPixels);
        this.style = style;
        this.shortestEdge = shortestEdge;
        this.cropWidth = cropWidth;
        this.cropHeight = cropHeight;
        this.resize = resize;
        this.centerCrop = centerCrop;
        this.rescale = rescale;
        this.normalize = normalize;
        this.rescaleFactor = rescaleFactor;
        this.mean = mean.clone();
        this.std = std.clone();
        this.filter = filter;
        this.maxPixels = maxPixels;
    }

    /** HF Chameleon's defaults for images of side {@code size}: rescale 0.0078, mean = std = 1, Lanczos. */
    public static ImagePreprocessor chameleon(int size) {
        float[] ones = {1f, 1f, 1f};
        return new ImagePreprocessor(Style.HF, size, size, size, true, true, true, true, 0.0078, ones, ones,
                ResampleFilter.LANCZOS, ImageFiles.DEFAULT_MAX_PIXELS);
    }

    /** Meta's image tokenizer: Lanczos resize (long side rounded), centre crop, {@code u8/255·2 − 1}. */
    public static ImagePreprocessor meta(int size) {
        float[] none = {0f, 0f, 0f};
        return new ImagePreprocessor(Style.META, size, size, size, true, true, false, false, 1.0, none, none,
                ResampleFilter.LANCZOS, ImageFiles.DEFAULT_MAX_PIXELS);
    }

    /** An HF {@code preprocessor_config.json} (ChameleonImageProcessor's fields). */
    public static ImagePreprocessor fromConfig(Path preprocessorConfig) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(preprocessorConfig));
        } catch (NoSuchFileException e) {
            throw CheckpointException.of(preprocessorConfig, "file not found");
        } catch (IOException e) {
            throw CheckpointException.of(preprocessorConfig, "not well-formed JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) throw CheckpointException.of(preprocessorConfig, "must hold a JSON object");
        Fields f = new Fields(preprocessorConfig, root);
        JsonNode size = root.get("size");
        int edge;
        if (size != null && size.isObject() && size.has("shortest_edge")) {
            edge = f.positiveInt(size.get("shortest_edge"), "size.shortest_edge");
        } else if (size != null && size.isInt()) {
            edge = f.positiveInt(size, "size");
        } else {
            throw f.error("size", "must be {\"shortest_edge\": N} (Chameleon resizes the shortest side)");
        }
        int cropW = edge, cropH = edge;
        JsonNode crop = root.get("crop_size");
        if (crop != null && crop.isObject()) {
            cropH = f.positiveInt(crop.get("height"), "crop_size.height");
            cropW = f.positiveInt(crop.get("width"), "crop_size.width");
        } else if (crop != null && !crop.isNull()) {
            cropH = cropW = f.positiveInt(crop, "crop_size");
        }
        ResampleFilter filter;
        int code = root.has("resample") ? f.positiveIntOrZero(root.get("resample"), "resample") : ResampleFilter.LANCZOS.pilCode();
        try {
            filter = ResampleFilter.ofPilCode(code);
        } catch (IllegalArgumentException e) {
            throw f.error("resample", "is " + code + "; PIL filters are 0–5");
        }
        if (root.has("do_convert_rgb") && !root.get("do_convert_rgb").asBoolean(true)) {
            throw f.error("do_convert_rgb", "false is not supported (the VQ encoder takes RGB)");
        }
        return new ImagePreprocessor(Style.HF, edge, cropW, cropH, f.bool("do_resize", true), f.bool("do_center_crop", true),
                f.bool("do_rescale", true), f.bool("do_normalize", true), f.number("rescale_factor", 0.0078),
                f.triple("image_mean", 1f), f.triple("image_std", 1f), filter, ImageFiles.DEFAULT_MAX_PIXELS);
    }

    /** The same preprocessing with another pixel budget, for input images and for the resized image. */
    public ImagePreprocessor withMaxPixels(long maxPixels) {
        return new ImagePreprocessor(style, shortestEdge, cropWidth, cropHeight, resize, centerCrop, rescale, normalize,
                rescaleFactor, mean, std, filter, maxPixels);
    }

    /**
     * The same preprocessing onto a {@code width × height} crop of an {@code imageWidth × imageHeight} image: the
     * image resized just enough to cover the crop (the shortest side chosen per image), then centre-cropped, as
     * Lumina-mGPT fits an image to one of its aspect-ratio buckets.
     */
    public ImagePreprocessor coveringCrop(int width, int height, int imageWidth, int imageHeight) {
        if (width < 1 || height < 1 || imageWidth < 1 || imageHeight < 1) throw new IllegalArgumentException("sizes must be positive");
        int shortSide = Math.min(imageWidth, imageHeight);
        double scale = Math.max((double) width / imageWidth, (double) height / imageHeight);
        int edge = (int) Math.max(1, Math.ceil(scale * shortSide - 1e-9));
        // The resize truncates (HF) or rounds (Meta) the long side: grow the edge until both sides cover the crop.
        while (!covered(edge, imageWidth, imageHeight, width, height)) edge++;
        return new ImagePreprocessor(style, edge, width, height, true, true, rescale, normalize, rescaleFactor, mean, std,
                filter, maxPixels);
    }

    private boolean covered(int edge, int w, int h, int cropW, int cropH) {
        long[] size = resizedSize(edge, w, h);
        return size[0] >= cropW && size[1] >= cropH;
    }

    /** Width and height of a {@code w × h} image whose shortest side is resized to {@code edge}, by this style. */
    private long[] resizedSize(int edge, int w, int h) {
        int shortSide = Math.min(w, h), longSide = Math.max(w, h);
        if (style == Style.HF) {
            // HF: int(S · long / short), the short side exactly S.
            long newLong = (long) ((double) ((long) edge * longSide) / shortSide);
            return w <= h ? new long[]{edge, newLong} : new long[]{newLong, edge};
        }
        // Meta: both sides round(S / short · side), Python's round (half to even).
        double scale = (double) edge / shortSide;
        return new long[]{(long) Math.rint(scale * w), (long) Math.rint(scale * h)};
    }

    public long maxPixels() {
        return maxPixels;
    }

    /** Side of the output (the crop), height then width. */
    public int outputHeight() {
        return centerCrop ? cropHeight : shortestEdge;
    }

    public int outputWidth() {
        return centerCrop ? cropWidth : shortestEdge;
    }

    /** Reads {@code file} (refusing it before decoding when it is above the pixel budget) and preprocesses it. */
    public FeatureMap preprocess(Path file) {
        return pixelValues(resizeAndCrop(RgbImage.of(ImageFiles.read(file, maxPixels)), file));
    }

    public FeatureMap preprocess(BufferedImage image) {
        ImageFiles.checkBudget(null, image.getWidth(), image.getHeight(), maxPixels);
        return pixelValues(resizeAndCrop(RgbImage.of(image), null));
    }

    /** The 8-bit image after the resize and the crop: what the pixel values are computed from. */
    public RgbImage resizeAndCrop(RgbImage image) {
        return resizeAndCrop(image, null);
    }

    private RgbImage resizeAndCrop(RgbImage image, Path file) {
        ImageFiles.checkBudget(file, image.width(), image.height(), maxPixels);
        RgbImage out = image;
        if (resize) {
            int w = image.width(), h = image.height();
            long[] size = resizedSize(shortestEdge, w, h);
            long newW = size[0], newH = size[1];
            if (newW < 1 || newH < 1) throw ImageException.of(file, "a " + w + "×" + h + " image resizes to nothing");
            ImageFiles.checkBudget(file, newW, newH, maxPixels);
            out = out.resize((int) newW, (int) newH, filter);
        }
        return centerCrop ? out.centerCrop(cropWidth, cropHeight) : out;
    }

    /** u8 HWC → float32 CHW, by HF's rescale/normalise or Meta's {@code u8/255·2 − 1}. */
    private FeatureMap pixelValues(RgbImage img) {
        int w = img.width(), h = img.height(), n = w * h;
        byte[] rgb = img.rgb();
        float[] out = new float[3 * n];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < n; i++) {
                int u8 = rgb[i * 3 + c] & 0xFF;
                float x;
                if (style == Style.META) {
                    x = (float) (u8 / 255.0 * 2 - 1);
                } else {
                    x = rescale ? (float) (u8 * rescaleFactor) : u8;
                    if (normalize) x = (x - mean[c]) / std[c];
                }
                out[c * n + i] = x;
            }
        }
        return new FeatureMap(3, h, w, out);
    }

    @Override
    public String toString() {
        return "ImagePreprocessor[" + style + ", shortest edge " + shortestEdge + ", crop " + cropWidth + "×" + cropHeight
                + ", " + filter + (style == Style.HF ? ", rescale " + rescaleFactor + ", mean " + Arrays.toString(mean)
                + ", std " + Arrays.toString(std) : "") + "]";
    }

    /** Typed fields of the preprocessor config, errors naming the file and field. */
    private record Fields(Path file, JsonNode root) {
        CheckpointException error(String field, String what) {
            return CheckpointException.of(file, "field '" + field + "' " + what);
        }

        int positiveInt(JsonNode n, String field) {
            int v = positiveIntOrZero(n, field);
            if (v < 1) throw error(field, "must be at least 1, found " + v);
            return v;
        }

        int positiveIntOrZero(JsonNode n, String field) {
            if (n == null || !n.isIntegralNumber() || !n.canConvertToInt() || n.asInt() < 0) {
                throw error(field, "must be a non-negative integer, found " + n);
            }
            return n.asInt();
        }

        boolean bool(String field, boolean dflt) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) return dflt;
            if (!n.isBoolean()) throw error(field, "must be true or false, found " + n);
            return n.asBoolean();
        }

        double number(String field, double dflt) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) return dflt;
            if (!n.isNumber() || !Double.isFinite(n.asDouble())) throw error(field, "must be a finite number, found " + n);
            return n.asDouble();
        }

        /** Three per-channel values, or one for all channels; std must not be 0. */
        float[] triple(String field, float dflt) {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) return new float[]{dflt, dflt, dflt};
            float[] v = new float[3];
            if (n.isNumber()) {
                Arrays.fill(v, (float) n.asDouble());
            } else if (n.isArray() && n.size() == 3) {
                for (int i = 0; i < 3; i++) {
                    if (!n.get(i).isNumber()) throw error(field, "element " + i + " must be a number, found " + n.get(i));
                    v[i] = (float) n.get(i).asDouble();
                }
            } else {
                throw error(field, "must be a number or three numbers, found " + n);
            }
            if (field.equals("image_std")) {
                for (float s : v) if (s == 0f) throw error(field, "must not contain 0");
            }
            return v;
        }
    }
}
