package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "text-to-image", mixinStandardHelpOptions = true, description = "Draw an image from a text prompt.")
final class TextToImageCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOption model;
    @Mixin DecodingMixin decoding;
    @Mixin RetrievalMixin retrieval;
    @Parameters(index = "0", arity = "0..1", description = "the prompt (or --prompts FILE)") String prompt;
    @Option(names = "--prompts", paramLabel = "FILE", description = "draw every line of FILE (UTF-8), the i-th with seed "
            + "--seed + i, into --out-dir as NNNN.png; prints passes per image") Path prompts;
    @Option(names = "--out-dir", paramLabel = "DIR", description = "where --prompts writes its images") Path outDir;
    @Option(names = {"-o", "--out"}, defaultValue = "out.png", description = "PNG to write (default ${DEFAULT-VALUE})") Path out;
    @Option(names = "--size", paramLabel = "WxH", description = "image size in pixels, e.g. 1024x576 (checkpoints with size "
            + "tokens, such as Lumina-mGPT; default: the checkpoint's own)") String size;

    @Override
    public Integer call() throws java.io.IOException {
        if ((prompt == null) == (prompts == null)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "give either a prompt or --prompts FILE");
        }
        if (prompts != null && outDir == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--prompts needs --out-dir DIR");
        }
        try (Cm3Leon m = model.load(); RetrievalMixin.Opened r = retrieval.open(m)) {
            var o = spec.commandLine().getOut();
            if (prompts != null) {
                drawAll(m, r, o);
                return 0;
            }
            var request = configure(r.apply(decoding.apply(m.textToImage(prompt))))
                    .onProgress(new ProgressBar(spec.commandLine().getErr(), "drawing"));
            GeneratedImage img = request.generate();
            img.writePng(out);
            o.println("wrote " + out + (Double.isNaN(img.score()) ? "" : String.format(" (score %.3f of %d samples)", img.score(), img.samples().size())));
            img.speculation().ifPresent(s -> o.println(s.passes() + " passes over the weights (" + s + ")"));
            img.documents().forEach(d -> o.printf("retrieved %s (%.3f): %s%n", d.id(), d.score(), d.text()));
            o.flush();
        }
        return 0;
    }

    private dev.cm3leon.TextToImageRequest configure(dev.cm3leon.TextToImageRequest request) {
        if (size != null) {
            var wh = java.util.regex.Pattern.compile("(\\d{1,5})x(\\d{1,5})").matcher(size);
            if (!wh.matches()) {
                throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                        "--size must be WIDTHxHEIGHT in pixels, e.g. 768x768; got '" + size + "'");
            }
            request.size(Integer.parseInt(wh.group(1)), Integer.parseInt(wh.group(2)));
        }
        return request;
    }

    /** Every line of --prompts, seeded --seed + i; one line of output per image and a summary. */
    private void drawAll(Cm3Leon m, RetrievalMixin.Opened r, java.io.PrintWriter o) throws java.io.IOException {
        java.util.List<String> lines = java.nio.file.Files.readAllLines(prompts).stream().filter(l -> !l.isBlank()).toList();
        java.nio.file.Files.createDirectories(outDir);
        long passes = 0, start = System.nanoTime();
        long[] drafted = null, accepted = null;
        for (int i = 0; i < lines.size(); i++) {
            var request = configure(r.apply(decoding.apply(m.textToImage(lines.get(i))))).seed(decoding.seed + i);
            GeneratedImage img = request.generate();
            Path file = outDir.resolve(String.format("%04d.png", i));
            img.writePng(file);
            int p = img.speculation().map(dev.cm3leon.Speculation::passes).orElse(img.timings().steps());
            passes += p;
            if (img.speculation().isPresent()) {
                long[] d = img.speculation().get().drafted(), a = img.speculation().get().accepted();
                if (drafted == null) {
                    drafted = new long[d.length];
                    accepted = new long[a.length];
                }
                for (int j = 0; j < d.length; j++) {
                    drafted[j] += d[j];
                    accepted[j] += a[j];
                }
            }
            o.printf("%s %d passes%n", file, p);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        o.printf("%d images, %.2f passes per image, %.3f s per image%n", lines.size(), (double) passes / lines.size(),
                seconds / lines.size());
        if (drafted != null) {
            StringBuilder b = new StringBuilder("acceptance by window position:");
            for (int j = 0; j < drafted.length; j++) b.append(String.format(" %.3f", drafted[j] == 0 ? Double.NaN : (double) accepted[j] / drafted[j]));
            o.println(b);
        }
        o.flush();
    }
}
