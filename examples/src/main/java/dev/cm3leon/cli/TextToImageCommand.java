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
    @Parameters(index = "0", description = "the prompt") String prompt;
    @Option(names = {"-o", "--out"}, defaultValue = "out.png", description = "PNG to write (default ${DEFAULT-VALUE})") Path out;
    @Option(names = "--size", paramLabel = "WxH", description = "image size in pixels, e.g. 1024x576 (checkpoints with size "
            + "tokens, such as Lumina-mGPT; default: the checkpoint's own)") String size;

    @Override
    public Integer call() {
        try (Cm3Leon m = model.load(); RetrievalMixin.Opened r = retrieval.open(m)) {
            var request = r.apply(decoding.apply(m.textToImage(prompt)))
                    .onProgress(new ProgressBar(spec.commandLine().getErr(), "drawing"));
            if (size != null) {
                var wh = java.util.regex.Pattern.compile("(\\d{1,5})x(\\d{1,5})").matcher(size);
                if (!wh.matches()) {
                    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                            "--size must be WIDTHxHEIGHT in pixels, e.g. 768x768; got '" + size + "'");
                }
                request.size(Integer.parseInt(wh.group(1)), Integer.parseInt(wh.group(2)));
            }
            GeneratedImage img = request.generate();
            img.writePng(out);
            var o = spec.commandLine().getOut();
            o.println("wrote " + out + (Double.isNaN(img.score()) ? "" : String.format(" (score %.3f of %d samples)", img.score(), img.samples().size())));
            img.documents().forEach(d -> o.printf("retrieved %s (%.3f): %s%n", d.id(), d.score(), d.text()));
            o.flush();
        }
        return 0;
    }
}
