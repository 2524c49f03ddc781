package dev.cm3leon.service;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.vq.ImageFiles;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicBoolean;

/** What every endpoint shares: the model and its id, the limits, the queue, the metrics, and whether it is stopping. */
record Served(Cm3Leon model, String modelId, ServiceOptions options, Admission admission, ServiceMetrics metrics,
              AtomicBoolean draining) {

    /** The request's {@code model}, when given, must be the one served (404 {@code model_not_found} otherwise). */
    void checkModel(java.util.Optional<String> requested) {
        requested.filter(m -> !m.equals(modelId)).ifPresent(m -> {
            throw ApiException.notFound("model", "model_not_found", "the model '" + m + "' does not exist here; this service serves '"
                    + modelId + "' (GET /v1/models)");
        });
    }

    /** A place in the model for this request, or 429/503/504. */
    Admission.Ticket admit() {
        if (draining.get()) throw new ApiException(503, "server_error", null, "shutting_down", "the service is shutting down", 1);
        return admission.enter(options.requestTimeout().toMillis());
    }

    /** What is left of the request's time once it holds a place. */
    Duration remaining(long startNanos) {
        Duration left = options.requestTimeout().minusNanos(System.nanoTime() - startNanos);
        if (left.isNegative() || left.isZero()) throw new ApiException(504, "timeout", null, "timeout", "the request timed out while waiting", 0);
        return left;
    }

    /** An uploaded image, refused from its header when above the pixel cap (a decompression bomb costs nothing). */
    BufferedImage image(byte[] encoded, String param) {
        if (encoded.length == 0) throw ApiException.invalid(param, "'" + param + "' is empty");
        try {
            return ImageFiles.read(encoded, options.maxImagePixels());
        } catch (RuntimeException e) {
            throw ApiException.invalid(param, "'" + param + "' is not an image this service reads: " + e.getMessage());
        }
    }

    static String base64Png(BufferedImage image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(image, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(out.toByteArray());
    }
}
