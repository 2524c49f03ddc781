package dev.cm3leon.service;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.images.Image;
import com.openai.models.images.ImageEditParams;
import com.openai.models.images.ImageGenerateParams;
import com.openai.models.images.ImagesResponse;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedImage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The real server on a random loopback port, driven by OpenAI's own Java SDK (images, edits, chat with an image,
 * streaming, models) and by hand-made malformed requests, each answered with the right status and a clear message
 * in OpenAI's error shape.
 */
class OpenAiServerTest {
    static final String KEY = "test-key";
    static Cm3Leon model;
    static OpenAiServer server;
    static OpenAIClient client;
    static final HttpClient http = HttpClient.newHttpClient();

    static Path demoModel() {
        return Path.of(System.getProperty("cm3leon.demoModel", "../demo-model"));
    }

    @BeforeAll
    static void start() {
        model = Cm3Leon.load(demoModel());
        ServiceOptions options = ServiceOptions.defaults(demoModel()).withAddress("127.0.0.1", 0).withApiKey(KEY)
                .withLimits(1 << 20, 1 << 20, 4, 2, Duration.ofSeconds(60));
        server = OpenAiServer.start(options, model);
        client = OpenAIOkHttpClient.builder().baseUrl(server.uri() + "/v1").apiKey(KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
    }

    @Test
    void imageGenerationsAnswerPngsOfTheModelsSizeEqualToTheLibrarysOwn() throws IOException {
        ImagesResponse response = client.images().generate(ImageGenerateParams.builder().prompt("a red circle").n(2)
                .size("32x32").responseFormat(ImageGenerateParams.ResponseFormat.B64_JSON)
                .putAdditionalBodyProperty("seed", JsonValue.from(7)).build());
        List<Image> data = response.data().orElseThrow();
        assertThat(data).hasSize(2);
        GeneratedImage direct = model.textToImage("a red circle").samples(2).seed(7).generate();
        for (int i = 0; i < 2; i++) {
            BufferedImage served = png(data.get(i).b64Json().orElseThrow());
            assertThat(served.getWidth()).isEqualTo(32);
            assertThat(pixels(served)).as("image %d", i).containsExactly(pixels(direct.samples().get(i).image()));
        }
    }

    @Test
    void editsTakeAMultipartImageWithOrWithoutAMask() throws IOException {
        byte[] image = pngBytes(model.textToImage("a blue square").seed(3).generate().image());
        ImagesResponse whole = client.images().edit(ImageEditParams.builder().image(image).prompt("make it red")
                .responseFormat(ImageEditParams.ResponseFormat.B64_JSON).build());
        assertThat(png(whole.data().orElseThrow().getFirst().b64Json().orElseThrow()).getWidth()).isEqualTo(32);

        BufferedImage mask = new BufferedImage(32, 32, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 32; y++) for (int x = 0; x < 32; x++) mask.setRGB(x, y, x < 16 && y < 16 ? 0x00000000 : 0xFF000000);
        ImagesResponse masked = client.images().edit(ImageEditParams.builder().image(image).mask(pngBytes(mask))
                .prompt("a circle").responseFormat(ImageEditParams.ResponseFormat.B64_JSON).build());
        BufferedImage out = png(masked.data().orElseThrow().getFirst().b64Json().orElseThrow());
        // The mask's transparent top-left quarter is the 8×8 grid's cells [0, 4) × [0, 4), infilled as the library does.
        BufferedImage original = ImageIO.read(new ByteArrayInputStream(image));
        var direct = model.infill(dev.cm3leon.Prompt.of("a circle", dev.cm3leon.Prompt.maskedImage(original, 0, 0, 4, 4)))
                .topP(0.9).seed(0).generate();
        BufferedImage expected = direct.filled().segments().stream().filter(s -> s instanceof dev.cm3leon.Prompt.Image)
                .map(s -> ((dev.cm3leon.Prompt.Image) s).image()).findFirst().orElseThrow();
        assertThat(pixels(out)).containsExactly(pixels(expected));
    }

    @Test
    void chatWithAnImageAnswersAsTheLibraryDoesAndStreamsTheSameText() throws IOException {
        BufferedImage picture = model.textToImage("a green triangle").seed(5).generate().image();
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(server.modelId()).maxCompletionTokens(16)
                .addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("What shape is it?").build()),
                        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder().imageUrl(
                                ChatCompletionContentPartImage.ImageUrl.builder().url(dataUrl(picture)).build()).build())))
                .build();
        ChatCompletion answer = client.chat().completions().create(params);
        String expected = model.vqa(picture, "What shape is it?").maxTokens(16).generate().text();
        assertThat(answer.choices().getFirst().message().content()).contains(expected);

        StringBuilder streamed = new StringBuilder();
        try (StreamResponse<ChatCompletionChunk> chunks = client.chat().completions().createStreaming(params)) {
            chunks.stream().forEach(c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(streamed::append)));
        }
        assertThat(streamed.toString()).isEqualTo(expected);
    }

    @Test
    void modelsListTheServedModel() {
        assertThat(client.models().list().data()).extracting(m -> m.id()).containsExactly(server.modelId());
        assertThat(client.models().retrieve(server.modelId()).id()).isEqualTo(server.modelId());
    }

    @Test
    void malformedRequestsGetTheRightStatusAndAClearMessage() throws Exception {
        assertError(post("/v1/images/generations", "{\"prompt\": "), 400, "not valid JSON");
        assertError(post("/v1/images/generations", "[1, 2]"), 400, "must be a JSON object");
        assertError(post("/v1/images/generations", "{\"prompt\": 5}"), 400, "'prompt' must be a string");
        assertError(post("/v1/images/generations", "{}"), 400, "'prompt' is required");
        assertError(post("/v1/images/generations", "{\"prompt\": \"x\", \"n\": 1000}"), 400, "'n' must be between 1 and 8");
        assertError(post("/v1/images/generations", "{\"prompt\": \"x\", \"n\": \"two\"}"), 400, "'n' must be an integer");
        assertError(post("/v1/images/generations", "{\"prompt\": \"x\", \"size\": \"1024x1024\"}"), 400, "32x32");
        assertError(post("/v1/images/generations", "{\"prompt\": \"x\", \"response_format\": \"url\"}"), 400, "b64_json");
        assertError(post("/v1/images/generations", "{\"prompt\": \"x\", \"model\": \"dall-e-3\"}"), 404, "dall-e-3");
        assertError(post("/v1/chat/completions", "{\"messages\": \"hi\"}"), 400, "non-empty array");
        assertError(post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"), 400, "image_url");
        assertError(post("/v1/chat/completions", chatWithImageUrl("https://example.com/a.png")), 400, "only data: URLs");
        assertError(post("/v1/chat/completions", chatWithImageUrl("data:image/png;base64," + hugePngHeader())), 400, "pixel");
        assertError(post("/v1/chat/completions", chatWithImageUrl("data:image/png;base64,bm90IGFuIGltYWdl")), 400, "not an image");
        assertError(post("/v1/images/generations", "{\"prompt\": \"" + "x".repeat(3 << 19) + "\"}"), 413, "larger than");
        assertError(send(HttpRequest.newBuilder(server.uri().resolve("/v1/images/edits")).header("Authorization", "Bearer " + KEY)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}"))), 400, "multipart/form-data");
        assertError(send(HttpRequest.newBuilder(server.uri().resolve("/v1/models"))), 401, "API key");
        assertError(send(HttpRequest.newBuilder(server.uri().resolve("/v1/models")).header("Authorization", "Bearer wrong")), 401, "API key");

        assertThatThrownBy(() -> client.images().generate(ImageGenerateParams.builder().prompt("x").model("gpt-image-1").build()))
                .isInstanceOfSatisfying(OpenAIServiceException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(404);
                    assertThat(e.code()).contains("model_not_found");
                });
    }

    @Test
    void aFullQueueAnswers429WithRetryAfter() throws Exception {
        List<Admission.Ticket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) held.add(server.admission().enter(1000));     // every running place
            List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
            for (int i = 0; i < 2; i++) {                                              // every queue place
                waiting.add(http.sendAsync(request("/v1/images/generations", "{\"prompt\": \"queued\"}"), HttpResponse.BodyHandlers.ofString()));
            }
            long until = System.nanoTime() + 10_000_000_000L;
            while (server.admission().queued() < 2 && System.nanoTime() < until) Thread.sleep(5);
            HttpResponse<String> refused = post("/v1/images/generations", "{\"prompt\": \"one too many\"}");
            assertError(refused, 429, "busy");
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            held.forEach(Admission.Ticket::close);
            held.clear();
            for (var w : waiting) assertThat(w.get().statusCode()).isEqualTo(200);
        } finally {
            held.forEach(Admission.Ticket::close);
        }
    }

    @Test
    void aStreamingClientThatDisconnectsLeavesNoWorkOrMemoryBehind() throws Exception {
        BufferedImage picture = model.textToImage("a shape").seed(8).generate().image();
        String body = "{\"stream\": true, \"max_tokens\": 400, \"temperature\": 1.0, \"seed\": 1, \"messages\": [{\"role\": \"user\", "
                + "\"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"" + dataUrl(picture) + "\"}}]}]}";
        for (int attempt = 0; attempt < 3; attempt++) {
            try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
                OutputStream out = socket.getOutputStream();
                out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KEY
                        + "\r\nContent-Type: application/json\r\nContent-Length: " + body.getBytes(StandardCharsets.UTF_8).length
                        + "\r\n\r\n" + body).getBytes(StandardCharsets.UTF_8));
                out.flush();
                InputStream in = socket.getInputStream();
                byte[] first = new byte[256];
                assertThat(in.read(first)).isPositive();                         // headers and the first event came
            }
        }
        long until = System.nanoTime() + 10_000_000_000L;
        while ((server.admission().running() > 0 || model.generationLoop().stats().runningRequests() > 0) && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertThat(server.admission().running()).isZero();
        assertThat(model.generationLoop().stats().runningRequests()).isZero();
        assertThat(((dev.cm3leon.engine.cpu.CpuEngine) model.engine()).kvCacheBudget().reservedBytes()).isZero();
        assertThat(send(HttpRequest.newBuilder(server.uri().resolve("/health"))).body()).contains("UP");
    }

    @Test
    void metricsShowTheQueueStreamsTokensKvMemoryAndLatency() throws Exception {
        client.images().generate(ImageGenerateParams.builder().prompt("for the metrics").build());
        String metrics = send(HttpRequest.newBuilder(server.uri().resolve("/metrics"))).body();
        assertThat(metrics).contains("cm3leon_queue_length", "cm3leon_streams_active", "cm3leon_kv_bytes",
                "cm3leon_tokens_generated_total", "cm3leon_request_seconds_bucket", "endpoint=\"images.generations\"");
    }

    // ---- helpers ----

    static HttpRequest request(String path, String json) {
        return requestTo(server, path, json, KEY);
    }

    static HttpRequest requestTo(OpenAiServer s, String path, String json, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(s.uri().resolve(path)).header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(json));
        if (key != null) b.header("Authorization", "Bearer " + key);
        return b.build();
    }

    static HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(request(path, json), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertError(HttpResponse<String> r, int status, String messagePart) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.body()).contains("\"error\"", "\"message\"", "\"type\"").contains(messagePart);
    }

    static String chatWithImageUrl(String url) {
        return "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"what?\"}, "
                + "{\"type\": \"image_url\", \"image_url\": {\"url\": \"" + url + "\"}}]}]}";
    }

    /** A PNG whose header claims 100000 × 100000 pixels (no pixel data): refused before anything is decoded. */
    static String hugePngHeader() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(33);
        b.put(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        b.putInt(13).put("IHDR".getBytes(StandardCharsets.US_ASCII)).putInt(100_000).putInt(100_000);
        b.put(new byte[]{8, 2, 0, 0, 0});
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(b.array(), 12, 17);
        b.putInt((int) crc.getValue());
        return Base64.getEncoder().encodeToString(b.array());
    }

    static String dataUrl(BufferedImage image) throws IOException {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(pngBytes(image));
    }

    static byte[] pngBytes(BufferedImage image) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(image, "png", out);
        return out.toByteArray();
    }

    static BufferedImage png(String b64) throws IOException {
        return ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(b64)));
    }

    static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

}
