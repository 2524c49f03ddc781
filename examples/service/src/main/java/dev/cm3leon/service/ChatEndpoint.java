package dev.cm3leon.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.GeneratedText;
import dev.cm3leon.ImageToTextRequest;
import dev.cm3leon.TokenEvent;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code POST /v1/chat/completions} for captions and visual questions: the last user message's text parts are the
 * question (none: a caption) and its {@code image_url} part, a {@code data:} URL, the image. With
 * {@code "stream": true} the answer comes as server-sent events ({@code chat.completion.chunk} objects, then
 * {@code [DONE]}); a client that disconnects stops its generation.
 */
final class ChatEndpoint {
    private final Served served;

    ChatEndpoint(Served served) {
        this.served = served;
    }

    /** What a chat request asks: the image, the question (or null), and the decoding parameters. */
    record Question(BufferedImage image, String text, int maxTokens, java.util.Optional<Double> temperature,
                    java.util.Optional<Long> seed, boolean stream) {
    }

    Question parse(JsonRequest json) {
        served.checkModel(json.text("model"));
        JsonNode messages = json.body().get("messages");
        if (messages == null || messages.isNull()) throw ApiException.invalid("messages", "'messages' is required");
        if (!messages.isArray() || messages.isEmpty()) throw ApiException.invalid("messages", "'messages' must be a non-empty array");
        JsonNode user = null;
        for (JsonNode m : messages) {
            if (!m.isObject()) throw ApiException.invalid("messages", "every message must be an object, got " + JsonRequest.kind(m));
            if ("user".equals(m.path("role").asText())) user = m;
        }
        if (user == null) throw ApiException.invalid("messages", "there is no message with role 'user'");
        List<String> texts = new ArrayList<>();
        BufferedImage image = null;
        JsonNode content = user.get("content");
        if (content != null && content.isTextual()) {
            texts.add(content.asText());
        } else if (content != null && content.isArray()) {
            for (JsonNode part : content) {
                String type = part.path("type").asText();
                switch (type) {
                    case "text" -> texts.add(part.path("text").asText());
                    case "image_url" -> {
                        if (image != null) throw ApiException.invalid("messages", "this model reads one image per question");
                        image = dataUrlImage(part.path("image_url").path("url").asText(null));
                    }
                    default -> throw ApiException.invalid("messages", "content parts of type '" + type + "' are not supported (text, image_url)");
                }
            }
        } else {
            throw ApiException.invalid("messages", "a user message's 'content' must be a string or an array of parts");
        }
        if (image == null) {
            throw ApiException.invalid("messages", "this service answers about images: add an image_url part (a data: URL) to the user message");
        }
        String question = String.join("\n", texts).trim();
        int max = json.integer("max_completion_tokens", json.integer("max_tokens", 64, 1, served.options().maxTokens()), 1,
                served.options().maxTokens());
        return new Question(image, question.isEmpty() ? null : question, max, json.number("temperature", 0.0, 2.0),
                json.longInteger("seed"), json.bool("stream"));
    }

    private BufferedImage dataUrlImage(String url) {
        if (url == null || url.isEmpty()) throw ApiException.invalid("messages", "an image_url part needs 'image_url': {'url': ...}");
        if (!url.startsWith("data:")) {
            throw ApiException.invalid("messages", "only data: URLs are accepted for images (the service fetches nothing)");
        }
        int comma = url.indexOf(',');
        if (comma < 0 || !url.substring(0, comma).endsWith(";base64")) {
            throw ApiException.invalid("messages", "an image data: URL must be base64 (data:image/png;base64,...)");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(url.substring(comma + 1));
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("messages", "the image data: URL is not valid base64");
        }
        return served.image(bytes, "messages");
    }

    private ImageToTextRequest request(Question q, long start) {
        ImageToTextRequest r = q.text() == null ? served.model().caption(q.image()) : served.model().vqa(q.image(), q.text());
        r.maxTokens(q.maxTokens()).deadline(served.remaining(start));
        q.temperature().filter(t -> t > 0).ifPresent(r::temperature);
        q.seed().ifPresent(r::seed);
        return r;
    }

    byte[] complete(Question q) {
        long start = System.nanoTime();
        try (Admission.Ticket ignored = served.admit()) {
            GeneratedText answer = request(q, start).generate();
            served.metrics().tokens(answer.tokens().length);
            ObjectNode out = envelope("chat.completion");
            ObjectNode choice = out.putArray("choices").addObject();
            choice.put("index", 0);
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", answer.text());
            message.putNull("refusal");
            choice.putNull("logprobs");
            choice.put("finish_reason", answer.tokens().length >= q.maxTokens() ? "length" : "stop");
            ObjectNode usage = out.putObject("usage");
            usage.put("prompt_tokens", 0);
            usage.put("completion_tokens", answer.tokens().length);
            usage.put("total_tokens", answer.tokens().length);
            return OpenAiServer.json(out);
        }
    }

    /**
     * Streams the answer: tokens come from the model's batching thread into a queue, and this (virtual) thread writes
     * them, so a slow client never holds up the model. A failed write (the client went away) cancels the generation.
     * Returns the outcome as a status: 200, or 499 when the client went away (headers are sent by then, so failures
     * after that are reported inside the stream).
     */
    int stream(Question q, OutputStream out) {
        long start = System.nanoTime();
        try (Admission.Ticket ignored = served.admit()) {
            String id = "chatcmpl-" + UUID.randomUUID();
            BlockingQueue<TokenEvent> tokens = new LinkedBlockingQueue<>();
            ImageToTextRequest r = request(q, start);
            CompletableFuture<GeneratedText> answer = new CompletableFuture<>();
            // Interrupting this thread cancels the generation and returns its memory (the model's contract).
            Thread worker = Thread.ofVirtual().name("cm3leon-chat-stream").start(() -> {
                try {
                    answer.complete(r.stream(tokens::add));
                } catch (Throwable t) {
                    answer.completeExceptionally(t);
                }
            });
            boolean open = emit(out, chunk(id, "{\"role\":\"assistant\",\"content\":\"\"}", null));
            try {
                while (open) {
                    TokenEvent t = tokens.poll(50, TimeUnit.MILLISECONDS);
                    if (t != null) {
                        if (!t.text().isEmpty()) open = emit(out, chunk(id, "{\"content\":" + quote(t.text()) + "}", null));
                    } else if (answer.isDone()) {
                        break;
                    } else {
                        open = flush(out);     // an idle flush tells early when the client has gone
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                open = false;
            }
            if (!open) {
                stop(worker);
                served.metrics().disconnected();
                return 499;
            }
            GeneratedText done;
            try {
                done = answer.join();
            } catch (java.util.concurrent.CompletionException e) {
                ApiException error = OpenAiServer.toApiException(e.getCause() == null ? e : e.getCause());
                emit(out, new String(OpenAiServer.json(OpenAiServer.errorBody(error)), StandardCharsets.UTF_8));
                return error.status;
            }
            served.metrics().tokens(done.tokens().length);
            emit(out, chunk(id, "{}", done.tokens().length >= q.maxTokens() ? "length" : "stop"));
            emit(out, "[DONE]");
            return 200;
        }
    }

    /** One server-sent event; false when the client has gone. */
    private static boolean emit(OutputStream out, String data) {
        try {
            out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean flush(OutputStream out) {
        try {
            out.flush();
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static void stop(Thread worker) {
        worker.interrupt();
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String chunk(String id, String delta, String finish) {
        ObjectNode c = envelope("chat.completion.chunk");
        c.put("id", id);
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        try {
            choice.set("delta", JsonRequest.MAPPER.readTree(delta));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (finish == null) choice.putNull("finish_reason");
        else choice.put("finish_reason", finish);
        return c.toString();
    }

    private static String quote(String s) {
        return JsonRequest.MAPPER.getNodeFactory().textNode(s).toString();
    }

    private ObjectNode envelope(String object) {
        ObjectNode o = JsonRequest.MAPPER.createObjectNode();
        o.put("id", "chatcmpl-" + UUID.randomUUID());
        o.put("object", object);
        o.put("created", System.currentTimeMillis() / 1000);
        o.put("model", served.modelId());
        return o;
    }
}
