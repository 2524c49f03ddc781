package dev.cm3leon.langchain4j;

import dev.cm3leon.vq.ImageFiles;
import dev.langchain4j.data.image.Image;
import dev.langchain4j.exception.UnsupportedFeatureException;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.RenderedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Locale;

/** Between LangChain4j's {@link Image} (base64 data or a URL) and pixels. */
final class Images {
    static final String PNG = "image/png";

    private Images() {
    }

    /**
     * Decodes an image given as base64 data, a {@code data:} URL or a {@code file:} URL, under the library's pixel
     * budget (an image's header may claim any size). Remote URLs are refused: a model call does not reach the network.
     */
    static BufferedImage read(Image image, String what) {
        if (image == null) throw new IllegalArgumentException(what + " is null");
        if (image.base64Data() != null) return decode(image.base64Data(), what);
        URI url = image.url();
        if (url == null) throw new IllegalArgumentException(what + " has neither base64 data nor a URL");
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        switch (scheme) {
            case "data" -> {
                String s = url.toString();
                int comma = s.indexOf(',');
                if (comma < 0 || !s.substring(0, comma).endsWith(";base64")) {
                    throw new IllegalArgumentException(what + ": a data URL must carry base64 data (data:image/png;base64,…)");
                }
                return decode(s.substring(comma + 1), what);
            }
            case "file" -> {
                Path file = Path.of(url);
                if (!Files.isRegularFile(file)) throw new IllegalArgumentException(what + ": no such file " + file);
                return ImageFiles.read(file);
            }
            default -> throw new UnsupportedFeatureException(what + ": cm3leon reads images given as base64 data, data: or file: URLs, "
                    + "not " + (scheme.isEmpty() ? "'" + url + "'" : scheme + ": URLs") + "; fetch the image and pass its bytes");
        }
    }

    private static BufferedImage decode(String base64, String what) {
        byte[] bytes;
        try {
            bytes = Base64.getMimeDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + ": the base64 data is not valid (" + e.getMessage() + ")", e);
        }
        if (bytes.length == 0) throw new IllegalArgumentException(what + ": the base64 data is empty");
        return ImageFiles.read(bytes, ImageFiles.DEFAULT_MAX_PIXELS);
    }

    static byte[] png(RenderedImage image) {
        var out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, "png", out)) throw new IllegalStateException("no PNG writer for this image type");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    static Image toLangChain4j(RenderedImage image) {
        return Image.builder().base64Data(Base64.getEncoder().encodeToString(png(image))).mimeType(PNG).build();
    }
}
