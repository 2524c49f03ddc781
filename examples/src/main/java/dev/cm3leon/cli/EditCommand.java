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

@Command(name = "edit", mixinStandardHelpOptions = true,
        description = "Edit an image by an instruction (3-stream guidance: image 1.5, text 7.5 by default).")
final class EditCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ModelOption model;
    @Mixin DecodingMixin decoding;
    @Parameters(index = "0", description = "a PNG or JPEG image") Path image;
    @Parameters(index = "1", description = "the instruction, e.g. \"make it blue\"") String instruction;
    @Option(names = {"-o", "--out"}, defaultValue = "edited.png", description = "PNG to write (default ${DEFAULT-VALUE})") Path out;

    @Override
    public Integer call() {
        try (Cm3Leon m = model.load()) {
            decoding.apply(m.edit(Images.read(image), instruction))
                    .onProgress(new ProgressBar(spec.commandLine().getErr(), "editing"))
                    .generate().writePng(out);
            spec.commandLine().getOut().println("wrote " + out);
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
