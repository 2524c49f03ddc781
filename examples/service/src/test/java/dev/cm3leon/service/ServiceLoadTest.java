package dev.cm3leon.service;

import com.fasterxml.jackson.databind.JsonNode;
import dev.cm3leon.Cm3Leon;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bounded load on the real server (loopback, a fixed number of requests, a time limit): 200 mixed requests from 16
 * concurrent clients on the demo model, some streamed and cut off by disconnecting. Every request ends in a result or
 * a clear error, none is lost or answered twice, the seeded ones equal their one-by-one answers, and the heap and
 * the process's anonymous resident memory are where they were after a round of the same load.
 */
class ServiceLoadTest {
    private static final Logger LOG = LoggerFactory.getLogger(ServiceLoadTest.class);
    static final int REQUESTS = 200, CLIENTS = 16, WARM_UP = 48;
    /** Growth allowed between two rounds: one round's garbage not yet collected, allocator slack, a JIT burst. */
    static final long HEAP_SLACK = 24L << 20, ANON_SLACK = 64L << 20;

    static Cm3Leon model;
    static OpenAiServer server;
    static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static BufferedImage picture;
    /** What each seeded request answers one by one (its body's data, or the answer's text). */
    static final Map<String, String> expected = new ConcurrentHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        model = Cm3Leon.load(OpenAiServerTest.demoModel());
        ServiceOptions options = ServiceOptions.defaults(OpenAiServerTest.demoModel()).withAddress("127.0.0.1", 0)
                .withLimits(1 << 20, 1 << 20, 8, REQUESTS, Duration.ofSeconds(60));
        server = OpenAiServer.start(options, model);
        picture = model.textToImage("a shape for questions").seed(99).generate().image();
        for (int kind = 0; kind < 6; kind++) expected.put(key(kind), answer(send(kind)));
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
    }

    @Test
    void twoHundredMixedRequestsAllEndAndLeaveMemoryFlat() throws Exception {
        Memory cold = Memory.now();
        Round warm = round(new Random(1), WARM_UP);
        Memory before = Memory.now();
        String nmtBefore = nativeMemory();
        long start = System.nanoTime();
        Round measured = round(new Random(2), REQUESTS);
        double seconds = (System.nanoTime() - start) / 1e9;
        Memory after = Memory.now();
        LOG.info("load: {} requests from {} clients in {} s ({} ok, {} disconnected); heap {} -> {} MiB, RSS {} -> {} MiB "
                        + "(anonymous {} -> {}, files {} -> {})", REQUESTS, CLIENTS, String.format("%.1f", seconds),
                measured.ok.get(), measured.disconnected.get(), before.heap >> 20, after.heap >> 20, before.rss >> 20,
                after.rss >> 20, before.anon >> 20, after.anon >> 20, before.file >> 20, after.file >> 20);
        writeReport(seconds, cold, before, after, measured);
        String nmtAfter = nativeMemory();
        if (!nmtAfter.isEmpty()) {
            Files.writeString(Path.of("target/service-load-nmt.txt"), "before:\n" + nmtBefore + "\nafter:\n" + nmtAfter);
        }
        for (Round r : List.of(warm, measured)) {
            assertThat(r.ok.get() + r.disconnected.get()).as("every request ended once").isEqualTo(r.requests);
            assertThat(r.mismatches).as("seeded answers that differ from one by one").isEmpty();
            assertThat(r.errors).as("unexpected outcomes").isEmpty();
        }
        assertThat(model.generationLoop().stats().runningRequests()).isZero();
        assertThat(((dev.cm3leon.engine.cpu.CpuEngine) model.engine()).kvCacheBudget().reservedBytes()).isZero();
        assertThat(after.heap - before.heap).as("heap growth").isLessThan(HEAP_SLACK);
        if (before.anon > 0) assertThat(after.anon - before.anon).as("anonymous RSS growth").isLessThan(ANON_SLACK);
    }

    /** One round: every request once, from {@link #CLIENTS} threads. */
    private static Round round(Random rnd, int requests) throws Exception {
        Round r = new Round(requests);
        List<Integer> kinds = new ArrayList<>();
        for (int i = 0; i < requests; i++) kinds.add(rnd.nextInt(100) < 12 ? 6 : rnd.nextInt(6));
        ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int kind : kinds) {
                futures.add(clients.submit(() -> {
                    try {
                        if (kind == 6) {
                            disconnectMidStream();
                            r.disconnected.incrementAndGet();
                            return;
                        }
                        HttpResponse<String> response = send(kind);
                        if (response.statusCode() != 200) {
                            r.errors.add(kind + ": " + response.statusCode() + " " + response.body());
                            return;
                        }
                        if (!answer(response).equals(expected.get(key(kind)))) r.mismatches.add(key(kind));
                        r.ok.incrementAndGet();
                    } catch (Exception e) {
                        r.errors.add(kind + ": " + e);
                    }
                }));
            }
            for (Future<?> f : futures) f.get(60, TimeUnit.SECONDS);
        } finally {
            clients.shutdownNow();
        }
        long until = System.nanoTime() + 10_000_000_000L;
        while (server.admission().running() > 0 && System.nanoTime() < until) Thread.sleep(10);
        return r;
    }

    record Round(int requests, AtomicInteger ok, AtomicInteger disconnected, List<String> mismatches, List<String> errors) {
        Round(int requests) {
            this(requests, new AtomicInteger(), new AtomicInteger(), java.util.Collections.synchronizedList(new ArrayList<>()),
                    java.util.Collections.synchronizedList(new ArrayList<>()));
        }
    }

    private static String key(int kind) {
        return "kind " + kind;
    }

    /** Kinds 0–3: seeded images (two with n = 2); 4: a question; 5: a streamed caption; 6: one cut off. */
    private static HttpResponse<String> send(int kind) throws Exception {
        String body = switch (kind) {
            case 0, 1 -> "{\"prompt\": \"a red circle " + kind + "\", \"seed\": " + kind + "}";
            case 2, 3 -> "{\"prompt\": \"two blue squares\", \"n\": 2, \"seed\": " + kind + "}";
            case 4 -> chat(false, "Where is the shape?");
            default -> chat(true, null);
        };
        String path = kind < 4 ? "/v1/images/generations" : "/v1/chat/completions";
        return http.send(OpenAiServerTest.requestTo(server, path, body, null), HttpResponse.BodyHandlers.ofString());
    }

    private static String chat(boolean stream, String question) throws IOException {
        String parts = (question == null ? "" : "{\"type\": \"text\", \"text\": \"" + question + "\"}, ")
                + "{\"type\": \"image_url\", \"image_url\": {\"url\": \"" + OpenAiServerTest.dataUrl(picture) + "\"}}";
        return "{\"stream\": " + stream + ", \"max_tokens\": 12, \"messages\": [{\"role\": \"user\", \"content\": [" + parts + "]}]}";
    }

    /** The part of a response that must equal the one-by-one answer: images' pixels, or the text. */
    private static String answer(HttpResponse<String> response) throws IOException {
        String body = response.body();
        if (body.startsWith("data:")) {
            StringBuilder text = new StringBuilder();
            for (String line : body.split("\n")) {
                if (!line.startsWith("data: {")) continue;
                JsonNode delta = JsonRequest.MAPPER.readTree(line.substring(6)).path("choices").path(0).path("delta");
                if (delta.has("content")) text.append(delta.get("content").asText());
            }
            return text.toString();
        }
        JsonNode json = JsonRequest.MAPPER.readTree(body);
        if (json.has("choices")) return json.path("choices").path(0).path("message").path("content").asText();
        StringBuilder pixels = new StringBuilder();
        for (JsonNode d : json.path("data")) {
            BufferedImage img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(d.path("b64_json").asText())));
            pixels.append(java.util.Arrays.hashCode(OpenAiServerTest.pixels(img))).append(' ');
        }
        return pixels.toString();
    }

    /** A streamed caption whose client reads the first event and hangs up. */
    private static void disconnectMidStream() throws IOException {
        byte[] body = chat(true, null).getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket(server.uri().getHost(), server.uri().getPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            InputStream in = socket.getInputStream();
            in.read(new byte[256]);
        }
    }

    /** Heap after a full collection, and the process's resident memory from /proc (zero where there is none). */
    record Memory(long heap, long committed, long rss, long anon, long file, long nmtHeap, long nmtTotal) {
        static Memory now() throws InterruptedException {
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(50);
            }
            var usage = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            long heap = usage.getUsed(), committed = usage.getCommitted();
            long rss = 0, anon = 0, file = 0;
            try {
                for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                    if (line.startsWith("VmRSS:")) rss = kib(line);
                    if (line.startsWith("RssAnon:")) anon = kib(line);
                    if (line.startsWith("RssFile:")) file = kib(line);
                }
            } catch (IOException e) {
                // not Linux: the heap is checked alone
            }
            String nmt = nativeMemory();
            return new Memory(heap, committed, rss, anon, file, nmtKib(nmt, "- +Java Heap \\(reserved=\\d+KB, committed=(\\d+)KB"),
                    nmtKib(nmt, "Total: reserved=\\d+KB, committed=(\\d+)KB"));
        }

        private static long nmtKib(String summary, String pattern) {
            var m = java.util.regex.Pattern.compile(pattern).matcher(summary);
            return m.find() ? Long.parseLong(m.group(1)) << 10 : -1;
        }

        private static long kib(String line) {
            return Long.parseLong(line.replaceAll("[^0-9]", "")) << 10;
        }
    }

    /** The JVM's native memory summary when it tracks it ({@code -XX:NativeMemoryTracking=summary}), else "". */
    static String nativeMemory() {
        try {
            var name = new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand");
            return (String) ManagementFactory.getPlatformMBeanServer().invoke(name, "vmNativeMemory",
                    new Object[]{new String[]{"summary"}}, new String[]{String[].class.getName()});
        } catch (Exception e) {
            return "";
        }
    }

    private static void writeReport(double seconds, Memory cold, Memory before, Memory after, Round r) {
        try {
            Path out = Path.of("target/service-load-report.txt");
            Files.createDirectories(out.getParent());
            Files.writeString(out, String.format(java.util.Locale.ROOT,
                    "requests %d, clients %d, %.2f s, ok %d, disconnected %d%nheap after GC: started %d, after warm-up %d, after "
                            + "the load %d MiB (committed %d -> %d -> %d MiB; NMT: heap %d -> %d -> %d, all %d -> %d -> %d MiB)%nVmRSS %d -> %d -> %d MiB (RssAnon %d -> %d -> %d, RssFile %d -> %d -> %d)%n%s%n",
                    REQUESTS, CLIENTS, seconds, r.ok.get(), r.disconnected.get(), cold.heap >> 20, before.heap >> 20,
                    after.heap >> 20, cold.committed >> 20, before.committed >> 20, after.committed >> 20, cold.nmtHeap >> 20, before.nmtHeap >> 20, after.nmtHeap >> 20,
                    cold.nmtTotal >> 20, before.nmtTotal >> 20, after.nmtTotal >> 20, cold.rss >> 20, before.rss >> 20, after.rss >> 20, cold.anon >> 20, before.anon >> 20,
                    after.anon >> 20, cold.file >> 20, before.file >> 20, after.file >> 20, server.metrics().scrape()
                            .lines().filter(l -> l.startsWith("cm3leon_") && !l.contains("_bucket")).toList()));
        } catch (IOException e) {
            LOG.warn("could not write the load report", e);
        }
    }
}
