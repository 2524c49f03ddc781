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

    @Override
    public Integer call() {
        try (Cm3Leon m = model.load(); RetrievalMixin.Opened r = retrieval.open(m)) {
            var request = r.apply(decoding.apply(m.textToImage(prompt)))
                    .onProgress(new ProgressBar(spec.commandLine().getErr(), "drawing"));
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
