package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.SyntheticModel;
import dev.cm3leon.decode.DecodingOptions;
import dev.cm3leon.decode.GenerationControl;
import dev.cm3leon.decode.GenerationLoop;
import dev.cm3leon.decode.ModalityState;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.cpu.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Requests served together against one after another: for 1, 2, 4, 8 … concurrent 2-stream (guided) text→image
 * requests, the wall time of the batch run together and run one by one, the speed-up, the throughput, and each
 * request's latency and time to its first image token (p50 / p99 over the repetitions). On a model that draws images
 * the requests are real {@code textToImage} requests; on a synthetic model (no image tokenizer) they are the same
 * shape through the model's generation loop: a prompt, a bare unconditional stream, {@code --tokens} decoded tokens.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Throughput and latency of concurrent guided requests against running them one after another.")
final class BenchServeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", description = "HF checkpoint folder") Path model;
    @Option(names = "--synthetic", paramLabel = "SIZE", description = "a random bf16 model of this shape: tiny, 0.5B, 1B, 7B")
    String synthetic;
    @Option(names = "--dir", description = "where to write the synthetic model (default: a temp folder, deleted after)")
    Path dir;
    @Option(names = "--quantize", description = "quantize at load: q8_0 or q4_0") String quantize;
    @Option(names = {"-c", "--concurrency"}, split = ",", defaultValue = "1,2,4,8", description = "requests at once")
    List<Integer> concurrency;
    @Option(names = "--tokens", description = "decoded tokens per request on a synthetic model (default: 64)")
    Integer tokens;
    @Option(names = {"-p", "--prompt"}, defaultValue = "16", description = "prompt tokens per request on a synthetic model")
    int prompt;
    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", description = "measured repetitions per concurrency")
    int repetitions;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if ((model == null) == (synthetic == null)) throw new Cm3LeonException("give either --model or --synthetic");
        Path temp = null, path = model;
        if (synthetic != null) {
            SyntheticModel m = SyntheticModel.of(SyntheticModel.Shape.parse(synthetic), 1);
            temp = dir == null ? Files.createTempDirectory("cm3leon-bench-serve") : null;
            Path where = dir != null ? dir : temp;
            Files.createDirectories(where);
            path = where.resolve("synthetic-" + synthetic);
            if (!Files.isRegularFile(path.resolve("config.json"))) m.writeSafetensors(path, DType.BF16);
        }
        EngineOptions options = EngineOptions.defaults().quantize(quantize);
        try (Cm3Leon loaded = Cm3Leon.load(path, options)) {
            boolean images = loaded.imageCodec().map(c -> c.canDecode()).orElse(false) && synthetic == null;
            int perRequest = images ? loaded.config().vq().orElseThrow().tokensPerImage() + 1 : (tokens == null ? 64 : tokens);
            out.printf(Locale.ROOT, "%s, %s backend, %d threads; %s requests of %d tokens, 2 streams each (guidance)%n",
                    synthetic != null ? "synthetic-" + synthetic : path.getFileName(), loaded.engine().backendName(),
                    Parallel.threads(), images ? "text→image" : "image-shaped (prompt " + prompt + ")", perRequest);
            Workload work = images ? new Images(loaded) : new Synthetic(loaded, prompt, perRequest);
            for (int i = 0; i < 2; i++) work.run(0, null);    // warm-up: compile the kernels before any timing
            out.printf(Locale.ROOT, "%-6s %-14s %-18s %-18s %-14s %-12s %-22s %-22s%n", "conc", "passes tog/1x1", "together s",
                    "one by one s", "speed-up",
                    "req/s", "latency p50/p99 s", "first token p50/p99 s");
            for (int c : concurrency) report(out, work, c);
        } finally {
            if (temp != null) deleteTree(temp);
        }
        out.flush();
        return 0;
    }

    private void report(PrintWriter out, Workload work, int c) throws Exception {
        double[] together = new double[repetitions], alone = new double[repetitions];
        long passesAlone = 0, passesTogether = 0;
        List<Double> latency = new ArrayList<>(), first = new ArrayList<>();
        for (int r = 0; r < repetitions; r++) {
            long p0 = work.passes(), t0 = System.nanoTime();
            for (int i = 0; i < c; i++) work.run(i, null);
            alone[r] = (System.nanoTime() - t0) / 1e9;
            long p1 = work.passes();
            passesAlone += p1 - p0;
            ExecutorService pool = Executors.newFixedThreadPool(c);
            try {
                List<Future<double[]>> futures = new ArrayList<>();
                long start = System.nanoTime();
                for (int i = 0; i < c; i++) {
                    int seed = i;
                    futures.add(pool.submit(() -> {
                        double[] firstToken = {Double.NaN};
                        work.run(seed, () -> {
                            if (Double.isNaN(firstToken[0])) firstToken[0] = (System.nanoTime() - start) / 1e9;
                        });
                        return new double[]{(System.nanoTime() - start) / 1e9, firstToken[0]};
                    }));
                }
                for (Future<double[]> f : futures) {
                    double[] t = f.get();
                    latency.add(t[0]);
                    first.add(t[1]);
                }
                together[r] = (System.nanoTime() - start) / 1e9;
                passesTogether += work.passes() - p1;
            } finally {
                pool.shutdownNow();
            }
        }
        double[] speedup = new double[repetitions];
        for (int r = 0; r < repetitions; r++) speedup[r] = alone[r] / together[r];
        out.printf(Locale.ROOT, "%-6d %-14s %-18s %-18s %-14s %-12s %-22s %-22s%n", c,
                (passesTogether / repetitions) + " / " + (passesAlone / repetitions), pm(together, "%.2f"), pm(alone, "%.2f"),
                pm(speedup, "%.2f") + "x", String.format(Locale.ROOT, "%.2f", c / mean(together)),
                String.format(Locale.ROOT, "%.2f / %.2f", pct(latency, 50), pct(latency, 99)),
                String.format(Locale.ROOT, "%.3f / %.3f", pct(first, 50), pct(first, 99)));
        out.flush();
    }

    /** One request: {@code seed} picks its prompt and randomness; {@code firstToken} (may be null) runs at each token. */
    private interface Workload {
        void run(int seed, Runnable onToken);

        Cm3Leon model();

        /** Engine passes the model's loop has run: together, requests share them. */
        default long passes() {
            return model().generationLoop().stats().passes();
        }
    }

    private record Images(Cm3Leon model) implements Workload {
        public void run(int seed, Runnable onToken) {
            var r = model.textToImage("a red circle at the top left, number " + seed).seed(seed).guidance(3.0);
            if (onToken != null) r.onProgress(p -> onToken.run());
            r.generate();
        }
    }

    private record Synthetic(Cm3Leon model, int prompt, int tokens) implements Workload {
        public void run(int seed, Runnable onToken) {
            SplittableRandom rnd = new SplittableRandom(seed);
            int vocab = model.config().vocabSize();
            int[] full = new int[prompt];
            full[0] = model.config().bosId();
            for (int i = 1; i < prompt; i++) full[i] = rnd.nextInt(vocab);
            int[] bare = {model.config().bosId(), rnd.nextInt(vocab)};
            DecodingOptions o = new DecodingOptions().topP(0.9).guidance(3.0, DecodingOptions.Unconditional.BARE_BEGIN_OF_IMAGE);
            var modality = new ModalityState(model.format().vocabulary(), vocab, 0, ModalityState.Output.TEXT, false);
            // No stop token: every request decodes all its tokens.
            var seq = new GenerationLoop.Sequence(new int[][]{full, bare}, o.chainFor(0, 1), modality, rnd.split(), tokens, new int[0]);
            model.generationLoop().run(List.of(seq), GenerationControl.none(), onToken == null ? null : (s, t, m) -> onToken.run());
        }
    }

    private static double mean(double[] v) {
        return Arrays.stream(v).average().orElse(Double.NaN);
    }

    private static String pm(double[] v, String format) {
        double m = mean(v), sd = Math.sqrt(Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / Math.max(1, v.length - 1));
        return String.format(Locale.ROOT, format + " ± " + format, m, sd);
    }

    private static double pct(List<Double> values, int p) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) return Double.NaN;
        return v[Math.min(v.length - 1, (int) Math.ceil(p / 100.0 * v.length) - 1)];
    }

    private static void deleteTree(Path root) throws IOException {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
