package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.GeneratedImage;
import dev.cm3leon.Timings;
import dev.cm3leon.TextToImageRequest;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SyntheticModel;
import dev.cm3leon.checkpoint.SyntheticVqGan;
import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.cpu.CpuEngine;
import dev.cm3leon.engine.cpu.NativeKernels;
import dev.cm3leon.engine.cpu.Parallel;
import dev.cm3leon.engine.cpu.Roofline;
import dev.cm3leon.vq.VqGan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Whole images, timed part by part: the prompt's prefill, the image-token decode (per step, and its first and last
 * steps), the sampler chain, the VQ-GAN decode (and encode, for 3-stream guidance, which conditions on an image), the
 * PNG encode; each beside its roofline measured on this machine a moment before: the weights one stream reads per
 * step over the streaming-read bandwidth, the convolutions' FLOPs over the FMA peak.
 */
@Command(name = "image", mixinStandardHelpOptions = true,
        description = "Time whole images (1024 tokens and a 512×512 decode at Chameleon's shape) part by part against the machine's roofline.")
final class BenchImageCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", description = "HF checkpoint folder that draws images (with its VQ-GAN decoder)") Path model;
    @Option(names = "--synthetic", paramLabel = "SIZE",
            description = "a random Chameleon-shaped model with Chameleon's VQ-GAN, written to a temp folder: tiny-image, 0.5B, 1B or 7B")
    String synthetic;
    @Option(names = "--synthetic-vq-channels", defaultValue = "128", paramLabel = "C",
            description = "base channels of the synthetic VQ-GAN (default Chameleon's ${DEFAULT-VALUE}; fewer for quick checks)")
    int vqChannels;
    @Option(names = "--dir", description = "where to write the synthetic model (default: a temp folder, deleted after)") Path dir;
    @Option(names = "--quantize", description = "quantize at load: q8_0 or q4_0") String quantize;
    @Option(names = "--kv-cache", defaultValue = "f32", description = "KV cache element type: f32 or bf16 (default ${DEFAULT-VALUE})")
    String kvCache;
    @Option(names = "--guidance", defaultValue = "2",
            description = "none, 2 (2-stream CFG, text→image) or 3 (3-stream CFG: an edit, its 512×512 condition encoded first); default ${DEFAULT-VALUE}")
    String guidance;
    @Option(names = "--samples", defaultValue = "1", description = "samples decoded together (default ${DEFAULT-VALUE})") int samples;
    @Option(names = {"-t", "--threads"}, description = "engine threads (default: all cores)") Integer threads;
    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as one JSON object") Path json;
    @Option(names = "--out", paramLabel = "PNG", description = "write the first sample's image here") Path out;
    @Option(names = "--seed", defaultValue = "1", description = "request seed (default ${DEFAULT-VALUE})") long seed;
    @Option(names = "--speculative", paramLabel = "W", defaultValue = "0",
            description = "speculative Jacobi decoding with a window of W drafts (default off); reports passes per image and "
                    + "the acceptance by window position") int speculative;
    @Option(names = "--prompt", defaultValue = "a watercolor painting of a red fox in the snow", description = "text prompt") String prompt;

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Override
    public Integer call() throws IOException {
        if ((model == null) == (synthetic == null)) throw new Cm3LeonException("give either --model or --synthetic");
        if (!List.of("none", "2", "3").contains(guidance)) throw new Cm3LeonException("--guidance must be none, 2 or 3, got " + guidance);
        if (samples < 1) throw new Cm3LeonException("--samples must be at least 1");
        EngineOptions options = EngineOptions.defaults().withBackend("cpu").quantize(quantize).withKvCache(kvCache);
        if (threads != null) System.setProperty("cm3leon.threads", Integer.toString(threads));
        Path temp = null, path = model;
        String label;
        if (synthetic != null) {
            SyntheticModel.Shape shape = SyntheticModel.Shape.parse(synthetic);
            if (!shape.drawsImages()) throw new Cm3LeonException("--synthetic " + synthetic + " has no image tokens: use tiny-image, 0.5B, 1B or 7B");
            VqConfig c = SyntheticVqGan.CHAMELEON;
            VqConfig vq = new VqConfig(c.inChannels(), c.outChannels(), vqChannels, c.channelMultiplier(), c.numResBlocks(),
                    c.attnResolutions(), c.latentChannels(), c.embedDim(), c.numEmbeddings(), c.resolution(), false);
            SyntheticModel m = SyntheticModel.of(shape, 1, vq);
            temp = dir == null ? Files.createTempDirectory("cm3leon-bench-image") : null;
            Path where = (dir != null ? dir : temp).resolve("synthetic-image-" + shape.name());
            long t0 = System.nanoTime();
            path = m.writeSafetensors(where, DType.BF16);
            out().printf(Locale.ROOT, "wrote a synthetic %s image model (%.2f B params, VQ-GAN %.1f M params, %d base channels) to %s in %.1f s%n",
                    shape.name(), shape.parameters() / 1e9, m.vqGan().orElseThrow().parameters() / 1e6, vqChannels, path,
                    (System.nanoTime() - t0) / 1e9);
            label = "synthetic-" + shape.name();
        } else {
            label = path.getFileName().toString();
        }
        try {
            run(path, label, options);
        } finally {
            if (temp != null) BenchCommand.deleteTree(temp);
        }
        out().flush();
        return 0;
    }

    private void run(Path path, String label, EngineOptions options) throws IOException {
        PrintWriter o = out();
        try (Cm3Leon m = Cm3Leon.load(path, options)) {
            VqGan vq = m.vq().filter(VqGan::canDecode).orElseThrow(() -> new Cm3LeonException(path
                    + " cannot draw images: " + m.vqGanFiles().whatEnablesImageOutput()));
            if (!(m.engine() instanceof CpuEngine engine)) throw new Cm3LeonException("bench image measures the CPU engine");
            ModelConfig c = m.config();
            int grid = vq.config().gridSize(), side = grid << (vq.config().levels() - 1);
            String dtype = engine.weightType().name().toLowerCase(Locale.ROOT);
            o.printf(Locale.ROOT, "cpu engine: %d threads, %d-bit vectors, decode products %s; %s%n", Parallel.threads(),
                    jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize(), NativeKernels.describe(), MemoryStatus.cpuName());

            warmUp(engine, vq, grid);
            Roofline.ReadBandwidth readBefore = Roofline.readBandwidth(512L << 20, 2);
            Roofline.Measurement fmaBefore = Roofline.fmaPeak(3);
            o.printf(Locale.ROOT, "roofline before: read %s; FMA %.1f GFLOP/s%n", readBefore.describe(), fmaBefore.best());

            long[] kvPeak = {0};
            TextToImageRequest request = guidance.equals("3")
                    ? m.edit(conditionImage(side), prompt)
                    : m.textToImage(prompt);
            if (guidance.equals("none")) request.noGuidance();
            else if (guidance.equals("2")) request.guidance(3.0);
            request.samples(samples).seed(seed).speculative(speculative)
                    .onProgress(p -> kvPeak[0] = Math.max(kvPeak[0], engine.kvCacheBudget().reservedBytes()));
            long t0 = System.nanoTime();
            GeneratedImage img = request.generate();
            long generateNanos = System.nanoTime() - t0;
            long rss = MemoryStatus.rssBytes(), peakRss = MemoryStatus.peakRssBytes();
            long anon = MemoryStatus.anonBytes(), file = MemoryStatus.fileBytes();
            // On a shared host other tenants take bandwidth and cores: the probes run before and after the request,
            // and the better of the two is the roofline (the machine's capability, not a moment's share of it).
            Roofline.ReadBandwidth readAfter = Roofline.readBandwidth(512L << 20, 2);
            Roofline.Measurement fmaAfter = Roofline.fmaPeak(3);
            o.printf(Locale.ROOT, "roofline after: read %s; FMA %.1f GFLOP/s%n", readAfter.describe(), fmaAfter.best());
            double readGbs = Math.max(readBefore.roofline(), readAfter.roofline());
            double fmaPeak = Math.max(fmaBefore.best(), fmaAfter.best());

            // The first sample's codes decoded once more, alone: a second decode time, and the heap the decoder needs
            // above what was live before it (pool peaks reset first; GC may run during it, so it is an upper bound).
            System.gc();
            List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                    .filter(pool -> pool.getType() == MemoryType.HEAP).toList();
            heap.forEach(MemoryPoolMXBean::resetPeakUsage);
            long heapBefore = heap.stream().mapToLong(pool -> pool.getUsage().getUsed()).sum();
            long v0 = System.nanoTime();
            vq.decode(new dev.cm3leon.vq.CodeGrid(grid, grid, img.samples().getFirst().codes()));
            double vqAgainS = (System.nanoTime() - v0) / 1e9;
            long vqHeapPeak = heap.stream().mapToLong(pool -> pool.getPeakUsage().getUsed()).sum() - heapBefore;

            long p0 = System.nanoTime();
            byte[] png = null;
            for (GeneratedImage.Sample s : img.samples()) png = png(s.image());
            long pngNanos = System.nanoTime() - p0;
            if (out != null) Files.write(out, png);

            Timings t = img.timings();
            int imageTokens = vq.config().tokensPerImage();
            int streams = t.streams() / samples;
            long weights = engine.weightBytesPerStep();
            double rooflineMs = weights / (readGbs * 1e6);
            double stepMs = ms(t.forwardPerStep()), firstMs = ms(t.firstSteps()), lastMs = ms(t.lastSteps());
            double samplingMs = ms(t.samplingPerStep());
            double vqS = seconds(t.imageDecode()) / samples, vqGflop = vq.decodeFlops(grid, grid) / 1e9;
            double encodeS = seconds(t.imageEncode()), encodeGflop = guidance.equals("3") ? vq.encodeFlops(side, side) / 1e9 : 0;
            double perImage = (seconds(t.total()) + pngNanos / 1e9) / samples;

            String config = fmt("%s %s, %s KV cache, %s, %d sample%s", label, dtype, kvCache, streamsName(streams), samples,
                    samples == 1 ? "" : "s");
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[]{"prompt prefill", fmt("%.3f s", seconds(t.prefill())), "", ""});
            rows.add(new String[]{"decode step (mean of " + (t.steps() - 1) + ")", fmt("%.1f ms", stepMs),
                    fmt("%.1f ms (one stream's %s ÷ %.1f GB/s)", rooflineMs, gib(weights), readGbs), fmt("%.2f×", stepMs / rooflineMs)});
            rows.add(new String[]{"decode steps 1–" + Timings.EDGE_STEPS, fmt("%.1f ms", firstMs), "", fmt("%.2f×", firstMs / rooflineMs)});
            rows.add(new String[]{"decode, last " + Timings.EDGE_STEPS + " steps", fmt("%.1f ms", lastMs), "",
                    fmt("%.2f× (%.2f× the first)", lastMs / rooflineMs, lastMs / firstMs)});
            rows.add(new String[]{"sampling + guidance per step", fmt("%.2f ms", samplingMs), "",
                    fmt("%.1f %% of the step", 100 * samplingMs / (stepMs + samplingMs))});
            if (guidance.equals("3")) {
                rows.add(new String[]{"VQ encode " + side + "²", fmt("%.2f s", encodeS),
                        fmt("%.2f s (%.0f GFLOP ÷ %.1f GFLOP/s)", encodeGflop / fmaPeak, encodeGflop, fmaPeak),
                        fmt("%.0f %% of FMA peak", 100 * encodeGflop / encodeS / fmaPeak)});
            }
            rows.add(new String[]{"VQ decode " + grid + "² → " + side + "²", fmt("%.2f s", vqS),
                    fmt("%.2f s (%.0f GFLOP ÷ %.1f GFLOP/s)", vqGflop / fmaPeak, vqGflop, fmaPeak),
                    fmt("%.0f %% of FMA peak", 100 * vqGflop / vqS / fmaPeak)});
            rows.add(new String[]{"VQ decode again, alone", fmt("%.2f s", vqAgainS), fmt("heap peak +%s", gib(vqHeapPeak)),
                    fmt("%.0f %% of FMA peak", 100 * vqGflop / vqAgainS / fmaPeak)});
            rows.add(new String[]{"PNG encode", fmt("%.3f s", pngNanos / 1e9 / samples), "", ""});
            rows.add(new String[]{"seconds per image", fmt("%.1f s", perImage), "", fmt("(request %.1f s for %d)", generateNanos / 1e9, samples)});
            o.println();
            o.println(config + ": " + imageTokens + " image tokens, " + t.forwardPasses() + " passes over the weights"
                    + img.speculation().map(sp -> " (" + sp + ")").orElse(""));
            printTable(new String[]{"part", "time", "roofline", "ratio"}, rows);
            o.printf(Locale.ROOT, "memory: VmRSS %s after the request (peak %s; mapped files %s, anonymous %s: heap, KV, VQ-GAN); "
                            + "weights read per step %s, KV caches at their peak %s%n",
                    gib(rss), gib(peakRss), gib(file), gib(anon), gib(weights), gib(kvPeak[0]));

            if (json != null) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("model", label);
                j.put("dtype", dtype);
                j.put("kv_cache_type", kvCache);
                j.put("guidance", guidance);
                j.put("threads", Parallel.threads());
                j.put("seconds_per_image", perImage);
                j.put("image_tokens", imageTokens);
                j.put("streams", streams);
                j.put("samples", samples);
                j.put("prefill_s", seconds(t.prefill()));
                j.put("decode_s", seconds(t.decode()));
                j.put("decode_step_ms_mean", stepMs);
                j.put("decode_step_ms_first", firstMs);
                j.put("decode_step_ms_last", lastMs);
                j.put("weights_read_roofline_ms", rooflineMs);
                j.put("weight_bytes_per_step", weights);
                j.put("read_bandwidth_gbs", readGbs);
                j.put("sampling_ms_per_step", samplingMs);
                j.put("vq_decode_s", vqS);
                j.put("vq_decode_gflop", vqGflop);
                j.put("vq_decode_again_s", vqAgainS);
                j.put("vq_decode_heap_peak_bytes", vqHeapPeak);
                j.put("vq_encode_s", encodeS);
                j.put("vq_encode_gflop", encodeGflop);
                j.put("fma_peak_gflops", fmaPeak);
                j.put("png_encode_s", pngNanos / 1e9 / samples);
                j.put("forward_passes_per_image", (double) t.forwardPasses() / samples);
                j.put("speculative_window", speculative);
                // A position no draft reached has no rate: null, not a number.
                j.put("acceptance_by_position", img.speculation()
                        .map(sp -> java.util.Arrays.stream(sp.acceptanceByPosition()).mapToObj(a -> Double.isNaN(a) ? null : a).toList())
                        .orElse(List.of()));
                j.put("resident_bytes", peakRss);
                j.put("resident_file_bytes", file);
                j.put("resident_anon_bytes", anon);
                j.put("kv_cache_bytes", kvPeak[0]);
                j.put("machine", MemoryStatus.cpuName() + ", " + Runtime.getRuntime().availableProcessors() + " cpus");
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), j);
                o.println("wrote " + json);
            }
        }
    }

    /** Compiles the decode path and the VQ decoder's kernels on small inputs, so the timed request runs warm. */
    private static void warmUp(CpuEngine engine, VqGan vq, int grid) {
        List<KvCache> caches = new ArrayList<>();
        try {
            for (int s = 0; s < 2; s++) caches.add(engine.newCache(33));
            for (int step = 0; step < 32; step++) {
                List<StreamStep> batch = new ArrayList<>();
                for (KvCache cache : caches) batch.add(StreamStep.last(cache, 3 + step));
                engine.forward(batch);
            }
        } finally {
            caches.forEach(KvCache::close);
        }
        int small = Math.min(grid, 2);
        vq.decode(new dev.cm3leon.vq.CodeGrid(small, small, new int[small * small]));
    }

    /** A smooth colour field: the condition image an edit encodes. */
    private static BufferedImage conditionImage(int side) {
        BufferedImage img = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) img.setRGB(x, y, (255 * x / side) << 16 | (255 * y / side) << 8 | 128);
        }
        return img;
    }

    private static byte[] png(BufferedImage image) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        ImageIO.write(image, "png", b);
        return b.toByteArray();
    }

    private static String streamsName(int streams) {
        return streams == 1 ? "no guidance" : streams + "-stream CFG";
    }

    private void printTable(String[] header, List<String[]> rows) {
        int[] w = new int[header.length];
        for (int i = 0; i < w.length; i++) w[i] = header[i].length();
        for (String[] r : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], r[i].length());
        PrintWriter o = out();
        StringBuilder line = new StringBuilder("|");
        for (int i = 0; i < w.length; i++) line.append(' ').append(pad(header[i], w[i])).append(" |");
        o.println(line);
        StringBuilder sep = new StringBuilder("|");
        for (int i = 0; i < w.length; i++) sep.append(' ').append("-".repeat(w[i])).append(" |");
        o.println(sep);
        for (String[] r : rows) {
            StringBuilder s = new StringBuilder("|");
            for (int i = 0; i < w.length; i++) s.append(' ').append(pad(r[i], w[i])).append(" |");
            o.println(s);
        }
    }

    private static String pad(String s, int w) {
        return s + " ".repeat(w - s.length());
    }

    private static String fmt(String f, Object... args) {
        return String.format(Locale.ROOT, f, args);
    }

    private static double ms(Duration d) {
        return d.toNanos() / 1e6;
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static String gib(long bytes) {
        return bytes < 1L << 30 ? fmt("%.1f MiB", bytes / (double) (1L << 20)) : fmt("%.2f GiB", bytes / (double) (1L << 30));
    }
}
