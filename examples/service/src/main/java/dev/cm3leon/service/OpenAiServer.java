package dev.cm3leon.service;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.InvalidRequestException;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.engine.KvCacheMemoryException;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.FilterChain;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.RoutingRequest;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The library behind an OpenAI-compatible HTTP API, on Helidon SE (each request on a virtual thread; the model
 * batches the requests that run at once into shared engine passes). Endpoints: {@code POST /v1/images/generations},
 * {@code POST /v1/images/edits}, {@code POST /v1/chat/completions}, {@code GET /v1/models}, {@code GET /health},
 * {@code GET /metrics}. Errors come in OpenAI's JSON shape with the library's message.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpenAiServer.class);

    private final Served served;
    private final WebServer server;
    private final boolean ownsModel;
    private final ImagesEndpoints images;
    private final ChatEndpoint chat;

    private OpenAiServer(ServiceOptions options, Cm3Leon model, boolean ownsModel) {
        this.ownsModel = ownsModel;
        String id = model.folder().getFileName() == null ? "cm3leon" : model.folder().getFileName().toString();
        ServiceMetrics[] metrics = new ServiceMetrics[1];
        Admission admission = new Admission(options.maxRunning(), options.maxQueued(), () -> metrics[0].meanLatencyMillis());
        metrics[0] = new ServiceMetrics(model, admission);
        this.served = new Served(model, id, options, admission, metrics[0], new AtomicBoolean());
        this.images = new ImagesEndpoints(served);
        this.chat = new ChatEndpoint(served);
        this.server = WebServer.builder()
                .host(options.host())
                .port(options.port())
                // The body cap is checked by body() below, so that a refusal comes in OpenAI's error shape; the
                // server's own limit sits above it as a backstop.
                .maxPayloadSize(2 * options.maxBodyBytes() + (1 << 20))
                .shutdownGracePeriod(options.shutdownGrace())
                .shutdownHook(false)
                .routing(this::routes)
                .build()
                .start();
    }

    /** Loads {@code options.model()} and serves it; closing the server closes the model. */
    public static OpenAiServer start(ServiceOptions options) {
        Cm3Leon model = Cm3Leon.load(options.model());
        try {
            return new OpenAiServer(options, model, true);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** Serves a model the caller owns (and closes). */
    public static OpenAiServer start(ServiceOptions options, Cm3Leon model) {
        return new OpenAiServer(options, model, false);
    }

    public URI uri() {
        String host = served.options().host().contains(":") ? "[" + served.options().host() + "]" : served.options().host();
        return URI.create("http://" + host + ":" + server.port());
    }

    public String modelId() {
        return served.modelId();
    }

    /** The queue in front of the model (tests hold its places to fill it). */
    Admission admission() {
        return served.admission();
    }

    ServiceMetrics metrics() {
        return served.metrics();
    }

    private void routes(HttpRouting.Builder r) {
        r.addFilter(this::guard);
        r.post("/v1/images/generations", (req, res) -> handle("images.generations", req, res,
                () -> send(res, images.generations(JsonRequest.parse(body(req))))));
        r.post("/v1/images/edits", (req, res) -> handle("images.edits", req, res, () -> {
            String type = req.headers().first(HeaderNames.CONTENT_TYPE).orElse("");
            if (!type.toLowerCase(java.util.Locale.ROOT).startsWith("multipart/form-data")) {
                throw ApiException.invalid(null, "an image edit is sent as multipart/form-data (image, prompt, optional mask), got '" + type + "'");
            }
            return send(res, images.edits(Multipart.parse(type, body(req))));
        }));
        r.post("/v1/chat/completions", (req, res) -> handle("chat.completions", req, res, () -> {
            ChatEndpoint.Question q = chat.parse(JsonRequest.parse(body(req)));
            if (!q.stream()) return send(res, chat.complete(q));
            res.header(HeaderNames.CONTENT_TYPE, "text/event-stream");
            res.header(HeaderNames.CACHE_CONTROL, "no-cache");
            OutputStream out = res.outputStream();
            int status = chat.stream(q, out);
            try {
                out.close();
            } catch (IOException | RuntimeException e) {
                status = 499;                              // the client went away before the end
            }
            return status;
        }));
        r.get("/v1/models", (req, res) -> handle("models", req, res, () -> {
            ObjectNode list = JsonRequest.MAPPER.createObjectNode();
            list.put("object", "list");
            ObjectNode m = list.putArray("data").addObject();
            m.put("id", served.modelId());
            m.put("object", "model");
            m.put("created", 0);
            m.put("owned_by", "cm3leon");
            return send(res, json(list));
        }));
        r.get("/v1/models/{id}", (req, res) -> handle("models", req, res, () -> {
            String id = req.path().pathParameters().get("id");
            served.checkModel(java.util.Optional.of(id));
            ObjectNode m = JsonRequest.MAPPER.createObjectNode();
            m.put("id", id);
            m.put("object", "model");
            m.put("created", 0);
            m.put("owned_by", "cm3leon");
            return send(res, json(m));
        }));
        r.get("/health", (req, res) -> {
            boolean up = !served.draining().get();
            res.status(up ? 200 : 503);
            res.header(HeaderNames.CONTENT_TYPE, "application/json");
            res.send(("{\"status\":\"" + (up ? "UP" : "DOWN") + "\"}").getBytes(StandardCharsets.UTF_8));
        });
        r.get("/metrics", (req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
            res.send(served.metrics().scrape().getBytes(StandardCharsets.UTF_8));
        });
    }

    /** Without a key only loopback peers are served; with one, every /v1 request must carry it as a bearer token. */
    private void guard(FilterChain chain, RoutingRequest req, RoutingResponse res) {
        var key = served.options().apiKey();
        if (key.isEmpty()) {
            if (req.remotePeer().address() instanceof InetSocketAddress a && !a.getAddress().isLoopbackAddress()) {
                error(res, new ApiException(403, "invalid_request_error", null, "forbidden",
                        "this service answers loopback clients only unless it is started with an API key", 0));
                return;
            }
        } else if (req.path().path().startsWith("/v1/")) {
            String auth = req.headers().first(HeaderNames.AUTHORIZATION).orElse("");
            byte[] given = auth.startsWith("Bearer ") ? auth.substring(7).trim().getBytes(StandardCharsets.UTF_8) : new byte[0];
            if (!MessageDigest.isEqual(given, key.get().getBytes(StandardCharsets.UTF_8))) {
                error(res, new ApiException(401, "invalid_request_error", null, "invalid_api_key",
                        "missing or wrong API key: send 'Authorization: Bearer <key>'", 0));
                return;
            }
        }
        chain.proceed();
    }

    /** An endpoint's work; returns the status it answered with (for the latency metric). */
    private interface Work {
        int run() throws Exception;
    }

    /** Runs one endpoint's work, answers failures in OpenAI's error shape, and records the latency by outcome. */
    private void handle(String endpoint, ServerRequest req, ServerResponse res, Work work) {
        long start = System.nanoTime();
        int status = 200;
        try {
            status = work.run();
        } catch (Throwable t) {
            ApiException e = toApiException(t);
            status = e.status;
            if (status >= 500 && status != 503 && status != 504) LOG.warn("{} failed", endpoint, t);
            else LOG.debug("{}: {} {}", endpoint, status, e.getMessage());
            if (!res.isSent()) error(res, e);
        } finally {
            served.metrics().latency(endpoint, status, System.nanoTime() - start);
        }
    }

    /** The body, read up to the cap whatever the client declared; 413 past it. */
    private byte[] body(ServerRequest req) throws IOException {
        long cap = served.options().maxBodyBytes();
        var declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > cap) throw tooLarge(cap);
        try (InputStream in = req.content().inputStream()) {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, cap + 1));
            if (bytes.length > cap) throw tooLarge(cap);
            return bytes;
        }
    }

    private static ApiException tooLarge(long cap) {
        return new ApiException(413, "invalid_request_error", null, "request_too_large",
                "the request body is larger than this service's limit of " + cap + " bytes", 0);
    }

    static ApiException toApiException(Throwable t) {
        return switch (t) {
            case ApiException a -> a;
            case GenerationControl.DeadlineExceededException d ->
                    new ApiException(504, "timeout", null, "timeout", "the request ran past the service's time limit", 0);
            case CancellationException c -> new ApiException(503, "server_error", null, "cancelled", "the request was cancelled: "
                    + c.getMessage(), 1);
            case KvCacheMemoryException k when k.exceedsBudget() -> ApiException.invalid(null, k.getMessage());
            case KvCacheMemoryException k -> new ApiException(503, "server_error", null, "server_overloaded", k.getMessage(), 1);
            case InvalidRequestException i -> ApiException.invalid(null, i.getMessage());
            case Cm3LeonException c -> ApiException.invalid(null, c.getMessage());
            case UncheckedIOException u -> new ApiException(499, "client_closed", null, "client_closed", u.getMessage(), 0);
            case io.helidon.http.RequestException r ->
                    new ApiException(r.status().code(), "invalid_request_error", null, null, r.getMessage(), 0);
            default -> new ApiException(500, "server_error", null, null, "internal error: " + t, 0);
        };
    }

    static ObjectNode errorBody(ApiException e) {
        ObjectNode root = JsonRequest.MAPPER.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type);
        if (e.param == null) err.putNull("param");
        else err.put("param", e.param);
        if (e.code == null) err.putNull("code");
        else err.put("code", e.code);
        return root;
    }

    private static void error(ServerResponse res, ApiException e) {
        res.status(Status.create(e.status));
        if (e.retryAfterSeconds > 0) res.header(HeaderNames.RETRY_AFTER, String.valueOf(e.retryAfterSeconds));
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(json(errorBody(e)));
    }

    private static int send(ServerResponse res, byte[] json) {
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(json);
        return 200;
    }

    static byte[] json(Object node) {
        try {
            return JsonRequest.MAPPER.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Stops taking requests (new ones get 503, {@code /health} says DOWN), lets those in flight finish within the
     * grace period, cancels what remains, then stops the server (and closes the model if it loaded it).
     */
    @Override
    public void close() {
        served.draining().set(true);
        long until = System.nanoTime() + served.options().shutdownGrace().toNanos();
        while (served.admission().running() + served.admission().queued() > 0 && System.nanoTime() < until) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (ownsModel) served.model().close();          // cancels what still runs, within a step
        else served.model().generationLoop().close();
        server.stop();
    }
}
