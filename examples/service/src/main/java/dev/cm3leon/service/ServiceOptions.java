package dev.cm3leon.service;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * How the service runs and what it accepts.
 *
 * @param model           the checkpoint folder it serves
 * @param host            the address it listens on (loopback unless an API key is set)
 * @param port            the port (0 for any free one)
 * @param apiKey          the bearer token every {@code /v1} request must carry, if any
 * @param maxBodyBytes    the largest request body (JSON or multipart) read; larger ones get 413
 * @param maxImagePixels  the largest image (width × height, read from its header before decoding) accepted
 * @param maxRunning      requests handed to the model at once (it batches them into shared passes)
 * @param maxQueued       requests waiting beyond those; past it, 429 with {@code Retry-After}
 * @param maxImages       the largest {@code n} of an image request
 * @param maxTokens       the largest {@code max_tokens} of a chat request
 * @param requestTimeout  how long a request may run (queue wait included) before it is stopped (504)
 * @param shutdownGrace   how long a shutdown lets requests in flight finish before it cancels them
 */
public record ServiceOptions(Path model, String host, int port, Optional<String> apiKey, long maxBodyBytes, long maxImagePixels,
                             int maxRunning, int maxQueued, int maxImages, int maxTokens, Duration requestTimeout,
                             Duration shutdownGrace) {
    public static final String API_KEY_ENV = "CM3LEON_API_KEY";

    public ServiceOptions {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535, got " + port);
        if (maxRunning < 1 || maxQueued < 0) throw new IllegalArgumentException("maxRunning must be ≥ 1 and maxQueued ≥ 0");
        apiKey = apiKey.filter(k -> !k.isBlank());
        if (apiKey.isEmpty() && !isLoopback(host)) {
            throw new IllegalArgumentException("without an API key (--api-key or " + API_KEY_ENV + ") the service listens on "
                    + "loopback only, not on " + host);
        }
    }

    /** Loopback on port 8080, 16 MiB bodies, 16 Mpx images, 8 requests at once and 32 waiting, 2 minutes each. */
    public static ServiceOptions defaults(Path model) {
        return new ServiceOptions(model, "127.0.0.1", 8080, Optional.empty(), 16L << 20, 16L << 20, 8, 32, 8, 512,
                Duration.ofMinutes(2), Duration.ofSeconds(10));
    }

    public ServiceOptions withAddress(String host, int port) {
        return new ServiceOptions(model, host, port, apiKey, maxBodyBytes, maxImagePixels, maxRunning, maxQueued, maxImages,
                maxTokens, requestTimeout, shutdownGrace);
    }

    public ServiceOptions withApiKey(String key) {
        return new ServiceOptions(model, host, port, Optional.ofNullable(key), maxBodyBytes, maxImagePixels, maxRunning,
                maxQueued, maxImages, maxTokens, requestTimeout, shutdownGrace);
    }

    public ServiceOptions withLimits(long maxBodyBytes, long maxImagePixels, int maxRunning, int maxQueued, Duration requestTimeout) {
        return new ServiceOptions(model, host, port, apiKey, maxBodyBytes, maxImagePixels, maxRunning, maxQueued, maxImages,
                maxTokens, requestTimeout, shutdownGrace);
    }

    static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
