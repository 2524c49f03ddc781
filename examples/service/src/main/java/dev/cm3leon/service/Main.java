package dev.cm3leon.service;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code bin/cm3leon serve}: loads a model (the shipped demo by default) and serves it until stopped. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve a model over an OpenAI-compatible HTTP API (images, edits, chat with images).")
public final class Main implements Callable<Integer> {
    @Option(names = "--model", description = "checkpoint folder (default: the shipped demo model)")
    Path model;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default: ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "port, 0 for any free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--api-key", description = "bearer token clients must send (default: $" + ServiceOptions.API_KEY_ENV
            + "); without one the service listens on loopback only")
    String apiKey;

    @Option(names = "--max-running", defaultValue = "8", description = "requests the model runs at once (default: ${DEFAULT-VALUE})")
    int maxRunning;

    @Option(names = "--max-queued", defaultValue = "32", description = "requests waiting beyond those before 429 (default: ${DEFAULT-VALUE})")
    int maxQueued;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Main()).execute(args));
    }

    @Override
    public Integer call() throws InterruptedException {
        Path folder = model != null ? model : demoModel();
        String key = apiKey != null ? apiKey : System.getenv(ServiceOptions.API_KEY_ENV);
        ServiceOptions defaults = ServiceOptions.defaults(folder);
        ServiceOptions options = defaults.withAddress(host, port).withApiKey(key)
                .withLimits(defaults.maxBodyBytes(), defaults.maxImagePixels(), maxRunning, maxQueued, defaults.requestTimeout());
        OpenAiServer server = OpenAiServer.start(options);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "cm3leon-serve-shutdown"));
        System.out.println("cm3leon: serving " + server.modelId() + " at " + server.uri() + "/v1"
                + (options.apiKey().isPresent() ? " (API key required)" : " (loopback only, no API key)"));
        System.out.println("cm3leon: try  curl " + server.uri() + "/v1/models");
        stopped.await();
        return 0;
    }

    private static Path demoModel() {
        String home = System.getProperty("cm3leon.home");
        return Path.of(home == null ? "." : home, "examples", "demo-model");
    }
}
