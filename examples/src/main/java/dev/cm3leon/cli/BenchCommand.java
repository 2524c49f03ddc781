package dev.cm3leon.cli;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.GgufModel;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.SyntheticModel;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.cpu.CpuEngine;
import dev.cm3leon.engine.cpu.Parallel;
import dev.cm3leon.engine.cpu.NativeKernels;
import dev.cm3leon.engine.cpu.Roofline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * Prompt processing and generation speed, llama-bench style: one line per configuration with tokens/s (mean ±
 * stddev over repetitions) and what that achieves against this machine's roofline, measured a moment before each
 * test: streaming-read bandwidth for generation (a native loop where the CPU kernels are loaded, the Java loop beside
 * it), FMA throughput for prompt processing.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchImageCommand.class, BenchServeCommand.class},
        description = "Measure prompt processing (ppN) and generation (tgN) speed against the machine's roofline; "
                + "'bench image' times whole images part by part, 'bench serve' concurrent requests against one by one.")
final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", description = "HF checkpoint folder or .gguf file") Path model;
    @Option(names = "--synthetic", paramLabel = "SIZE",
            description = "build a random model of this shape in a temp folder: tiny, 0.5B, 1B, 7B (Chameleon-shaped) or llama-1B")
    String synthetic;
    @Option(names = "--synthetic-format", defaultValue = "safetensors", description = "safetensors (bf16) or gguf")
    String syntheticFormat;
    @Option(names = "--synthetic-type", defaultValue = "bf16", description = "stored type: bf16, f32; for gguf also q8_0, q4_0")
    String syntheticType;
    @Option(names = "--dir", description = "where to write the synthetic model (default: a temp folder, deleted after)")
    Path dir;
    @Option(names = "--quantize", description = "quantize at load: q8_0 or q4_0") String quantize;
    @Option(names = {"-t", "--threads"}, description = "engine threads (default: all cores)") Integer threads;
    @Option(names = "--prefill-chunk", defaultValue = "0",
            description = "most prompt tokens per forward pass (default: " + EngineOptions.DEFAULT_PREFILL_CHUNK + ")")
    int prefillChunk;
    @Option(names = {"-p", "--prompt"}, split = ",", defaultValue = "512", description = "prompt lengths (pp tests), 0 for none")
    List<Integer> prompts;
    @Option(names = {"-n", "--gen"}, defaultValue = "128", description = "generated tokens per tg test, 0 for none") int gen;
    @Option(names = {"-s", "--streams"}, split = ",", defaultValue = "1,2,3", description = "streams decoded together in tg tests")
    List<Integer> streams;
    @Option(names = {"-r", "--repetitions"}, defaultValue = "3", description = "measured repetitions per test") int repetitions;

    private PrintWriter out;

    @Override
    public Integer call() throws IOException {
        out = spec.commandLine().getOut();
        if ((model == null) == (synthetic == null)) throw new Cm3LeonException("give either --model or --synthetic");
        // Checked before a synthetic model is written.
        EngineOptions options = new EngineOptions("cpu", false, null).quantize(quantize).withPrefillChunk(prefillChunk);
        // The engine's pool reads its size once, when first used.
        if (threads != null) System.setProperty("cm3leon.threads", Integer.toString(threads));
        Path temp = null;
        Path path = model;
        String label;
        if (synthetic != null) {
            SyntheticModel m = SyntheticModel.of(SyntheticModel.Shape.parse(synthetic), 1);
            temp = dir == null ? Files.createTempDirectory("cm3leon-bench") : null;
            Path where = dir != null ? dir : temp;
            Files.createDirectories(where);
            long t0 = System.nanoTime();
            DType type = DType.valueOf(syntheticType.toUpperCase(Locale.ROOT));
            path = syntheticFormat.equals("gguf") ? m.writeGguf(where.resolve("synthetic-" + synthetic + ".gguf"), type)
                    : m.writeSafetensors(where.resolve("synthetic-" + synthetic), type);
            out.printf(Locale.ROOT, "wrote a synthetic %s model (%s params) to %s in %.1f s%n", m.shape().name(),
                    billions(m.shape().parameters()), path, seconds(System.nanoTime() - t0));
            label = "synthetic-" + m.shape().name() + " " + m.shape().arch();
        } else {
            label = path.getFileName().toString();
        }
        try {
            run(path, label, options);
        } finally {
            if (temp != null) deleteTree(temp);
        }
        out.flush();
        return 0;
    }

    private void run(Path path, String label, EngineOptions options) {
        long rss0 = MemoryStatus.rssBytes();
        long t0 = System.nanoTime();
        try (Opened o = open(path); CpuEngine engine = new CpuEngine(DecoderWeights.from(o.source, o.config), options)) {
            long openNanos = System.nanoTime() - t0;
            long rssOpen = MemoryStatus.rssBytes() - rss0;
            ModelConfig c = o.config;
            String dtype = engine.weightType().name().toLowerCase(Locale.ROOT);
            out.printf(Locale.ROOT, "cpu engine: %d threads, %d-bit vectors, decode products %s; %s%n", Parallel.threads(),
                    jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(), NativeKernels.describe(),
                    MemoryStatus.cpuName());
            out.printf(Locale.ROOT, "opened %s in %.2f s: %s of weights read per token, resident after open +%s%n",
                    path, seconds(openNanos), gib(engine.weightBytesPerStep()), gib(rssOpen));
            List<String[]> rows = new ArrayList<>();
            String[] header = {"model", "dtype", "threads", "streams", "test", "t/s", "ms/step", "achieved", "roofline (now)", "% of roofline"};
            Double firstTokenSeconds = null;
            for (int p : prompts) {
                if (p <= 0) continue;
                int tokens = Math.min(p, c.maxPositions() - 1);
                long tFirst = System.nanoTime();
                runPrompt(engine, tokens);   // the first run compiles the kernels: it is the cold time to first token
                if (firstTokenSeconds == null) firstTokenSeconds = seconds(System.nanoTime() - t0);
                out.printf(Locale.ROOT, "  pp%d cold (first run): %.2f s%n", tokens, seconds(System.nanoTime() - tFirst));
                Roofline.Measurement fma = Roofline.fmaPeak(3);
                double[] tps = new double[repetitions];
                for (int i = 0; i < repetitions; i++) tps[i] = tokens / seconds(runPrompt(engine, tokens));
                Roofline.Measurement m = Roofline.Measurement.of(tps);
                double gflops = engine.promptFlops(tokens) / (tokens / m.mean()) / 1e9;
                rows.add(new String[]{label, dtype, str(Parallel.threads()), "1", "pp" + tokens, pm(m), fmt("%.1f", 1e3 * tokens / m.mean()),
                        fmt("%.1f GFLOP/s", gflops), fmt("FMA %.1f GFLOP/s", fma.best()), fmt("%.0f %%", 100 * gflops / fma.best())});
                printRow(header, rows);
            }
            Generation peak = null;
            boolean nativeRead = NativeKernels.loaded();
            if (gen > 0) {
                runGeneration(engine, 1, Math.min(gen, 16));   // compiles the decode path
                // Rounds outside, stream counts inside: where the machine's speed drifts (a shared host), every stream
                // count sees the same conditions, and each round's step-time ratio compares runs seconds apart.
                int k = streams.size(), one = streams.indexOf(1);
                double[][] tps = new double[k][repetitions], ms = new double[k][repetitions], pct = new double[k][repetitions];
                double[][] probe = new double[k][repetitions], javaProbe = new double[k][repetitions];
                long bytes = engine.weightBytesPerStep();
                for (int i = 0; i < repetitions; i++) {
                    for (int j = 0; j < k; j++) {
                        int st = streams.get(j);
                        Roofline.ReadBandwidth read = Roofline.readBandwidth(512L << 20, 2);
                        probe[j][i] = read.roofline();
                        javaProbe[j][i] = read.javaRead();
                        Generation g = runGeneration(engine, st, gen);
                        if (peak == null || g.rss > peak.rss) peak = g;
                        ms[j][i] = 1e3 * seconds(g.nanos) / gen;
                        tps[j][i] = st * 1e3 / ms[j][i];
                        pct[j][i] = 100 * bytes / (ms[j][i] * 1e6) / probe[j][i];
                        out.printf(Locale.ROOT, "  round %d, tg%d, %d stream%s: %.2f t/s, %.1f ms/step, %.0f %% of read (%s)%n",
                                i + 1, gen, st, st == 1 ? "" : "s", tps[j][i], ms[j][i], pct[j][i], read.describe());
                        out.flush();
                    }
                }
                for (int j = 0; j < k; j++) {
                    int st = streams.get(j);
                    Roofline.Measurement m = Roofline.Measurement.of(tps[j]), step = Roofline.Measurement.of(ms[j]);
                    String ratio = "";
                    if (one >= 0 && st != 1) {
                        double[] r = new double[repetitions];
                        for (int i = 0; i < repetitions; i++) r[i] = ms[j][i] / ms[one][i];
                        Roofline.Measurement rm = Roofline.Measurement.of(r);
                        ratio = fmt(" (%.2f ± %.2f× 1 stream)", rm.mean(), rm.stddev());
                    }
                    Roofline.Measurement p = Roofline.Measurement.of(pct[j]), read = Roofline.Measurement.of(probe[j]);
                    String probeName = nativeRead ? fmt("native read %.1f GB/s (Java %.1f)", read.mean(),
                            Roofline.Measurement.of(javaProbe[j]).mean()) : fmt("Java read %.1f GB/s", read.mean());
                    rows.add(new String[]{label, dtype, str(Parallel.threads()), str(st), "tg" + gen, pm(m),
                            fmt("%.1f", step.mean()) + ratio, fmt("%.1f GB/s", bytes / (step.mean() * 1e6)),
                            probeName, fmt("%.0f ± %.0f %%", p.mean(), p.stddev())});
                }
            }
            out.println();
            if (!rows.isEmpty()) printTable(header, rows);
            out.println();
            if (firstTokenSeconds != null) {
                out.printf(Locale.ROOT, "start-up: open %.2f s (mapped, +%s resident), first token after pp%d (cold) at %.2f s%n",
                        seconds(openNanos), gib(rssOpen), Math.min(prompts.getFirst(), c.maxPositions() - 1), firstTokenSeconds);
            }
            if (peak != null && peak.rss > 0) {
                long weights = engine.weightBytesPerStep();
                long over = peak.rss - weights - peak.kvBytes;
                out.printf(Locale.ROOT, "memory at the peak of tg: VmRSS %s = weights %s + KV cache %s + other %s (%.1f %% over weights + KV);"
                                + " mapped files %s, anonymous %s (heap, KV cache, JIT code)%n",
                        gib(peak.rss), gib(weights), gib(peak.kvBytes), gib(over), 100.0 * over / (weights + peak.kvBytes),
                        gib(peak.file), gib(peak.anon));
            }
        }
    }

    private record Opened(TensorSource source, ModelConfig config) implements AutoCloseable {
        @Override
        public void close() {
            source.close();
        }
    }

    private static Opened open(Path path) {
        if (Files.isRegularFile(path) && path.toString().endsWith(".gguf")) {
            GgufModel g = GgufModel.open(path);
            return new Opened(g, g.config());
        }
        ModelConfig config = ModelConfig.read(path.resolve("config.json"));
        return new Opened(SafetensorsCheckpoint.open(path), config);
    }

    /** One prompt of {@code tokens} ids in a fresh cache, logits of the last position only; returns nanoseconds. */
    private static long runPrompt(CpuEngine engine, int tokens) {
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) ids[i] = 3 + (i * 7919) % (engine.config().vocabSize() - 3);
        try (KvCache cache = engine.newCache(tokens)) {
            long t0 = System.nanoTime();
            engine.forward(List.of(new StreamStep(cache, ids, StreamStep.Logits.LAST)));
            return System.nanoTime() - t0;
        }
    }

    private record Generation(long nanos, long rss, long anon, long file, long kvBytes) {
    }

    /** {@code streams} streams, each from a one-token prompt, decoded greedily together for {@code steps} steps. */
    private static Generation runGeneration(CpuEngine engine, int streams, int steps) {
        ModelConfig c = engine.config();
        List<KvCache> caches = new ArrayList<>();
        try {
            int[] next = new int[streams];
            for (int s = 0; s < streams; s++) {
                caches.add(engine.newCache(steps + 1));
                next[s] = 3 + s;
            }
            long t0 = 0;
            for (int step = 0; step <= steps; step++) {
                if (step == 1) t0 = System.nanoTime();   // step 0 fills the one-token prompts
                List<StreamStep> batch = new ArrayList<>();
                for (int s = 0; s < streams; s++) batch.add(StreamStep.last(caches.get(s), next[s]));
                float[][] logits = engine.forward(batch);
                for (int s = 0; s < streams; s++) next[s] = argmax(logits[s]);
            }
            long nanos = System.nanoTime() - t0;
            long kv = 2L * streams * c.numLayers() * (steps + 1) * c.kvDim() * Float.BYTES;
            return new Generation(nanos, MemoryStatus.rssBytes(), MemoryStatus.anonBytes(), MemoryStatus.fileBytes(), kv);
        } finally {
            caches.forEach(KvCache::close);
        }
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    private void printRow(String[] header, List<String[]> rows) {
        String[] r = rows.getLast();
        StringBuilder sb = new StringBuilder("  ");
        for (int i = 4; i < r.length; i++) sb.append(header[i]).append(' ').append(r[i]).append(i + 1 < r.length ? ", " : "");
        out.println(sb.append(" (").append(r[3]).append(" stream").append(r[3].equals("1") ? "" : "s").append(')'));
        out.flush();
    }

    private void printTable(String[] header, List<String[]> rows) {
        int[] w = new int[header.length];
        for (int i = 0; i < w.length; i++) w[i] = header[i].length();
        for (String[] r : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], r[i].length());
        StringBuilder line = new StringBuilder("|");
        for (int i = 0; i < w.length; i++) line.append(' ').append(pad(header[i], w[i], false)).append(" |");
        out.println(line);
        StringBuilder sep = new StringBuilder("|");
        for (int i = 0; i < w.length; i++) sep.append(i < 5 ? " " + "-".repeat(w[i]) + " |" : " " + "-".repeat(w[i] - 1) + ": |");
        out.println(sep);
        for (String[] r : rows) {
            StringBuilder s = new StringBuilder("|");
            for (int i = 0; i < w.length; i++) s.append(' ').append(pad(r[i], w[i], i >= 5)).append(" |");
            out.println(s);
        }
    }

    private static String pad(String s, int w, boolean right) {
        String fill = " ".repeat(w - s.length());
        return right ? fill + s : s + fill;
    }

    private static String pm(Roofline.Measurement m) {
        return fmt("%.2f ± %.2f", m.mean(), m.stddev());
    }

    private static String fmt(String f, Object... args) {
        return String.format(Locale.ROOT, f, args);
    }

    private static String str(int i) {
        return Integer.toString(i);
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private static String gib(long bytes) {
        return fmt("%.2f GiB", bytes / (double) (1L << 30));
    }

    private static String billions(long n) {
        return fmt("%.2f B", n / 1e9);
    }

    /** Deletes a folder and everything in it (children first). */
    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
