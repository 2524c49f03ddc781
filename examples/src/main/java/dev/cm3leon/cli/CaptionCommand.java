package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "caption", mixinStandardHelpOptions = true, description = "Caption an image, or answer a question about it.")
final class CaptionCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOption model;
    @Mixin DecodingMixin decoding;
    @Parameters(index = "0", description = "a PNG or JPEG image") Path image;
    @Option(names = "--question", description = "ask this instead of captioning (VQA)") String question;

    @Override
    public Integer call() {
        try (Cm3Leon m = model.load()) {
            var request = decoding.apply(m.imageToText(Images.read(image)));
            if (question != null) request.prompt(question);
            spec.commandLine().getOut().println(request.generate().text());
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
