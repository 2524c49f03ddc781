package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.GeneratedInfill;
import dev.cm3leon.vq.ImageFiles;
import dev.cm3leon.Prompt;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "infill", mixinStandardHelpOptions = true,
        description = "Fill masks: <mask> in the text, or a region of an image's token grid.")
final class InfillCommand implements Callable<Integer> {
    static final String MASK = "<mask>";
    @Spec CommandSpec spec;
    @Mixin ModelOption model;
    @Mixin DecodingMixin decoding;
    @Parameters(index = "0", arity = "0..1", description = "text with <mask> where a span should go") String text;
    @Option(names = "--image", description = "an image to include (after the text)") Path image;
    @Option(names = "--region", description = "grid cells x0,y0,x1,y1 of --image to regenerate") String region;
    @Option(names = {"-o", "--out"}, defaultValue = "infilled.png", description = "PNG for the infilled image (default ${DEFAULT-VALUE})") Path out;

    @Override
    public Integer call() {
        List<Object> parts = new ArrayList<>();
        if (text != null) {
            String[] pieces = text.split(java.util.regex.Pattern.quote(MASK), -1);
            for (int i = 0; i < pieces.length; i++) {
                if (!pieces[i].isEmpty()) parts.add(pieces[i]);
                if (i < pieces.length - 1) parts.add(Prompt.mask());
            }
        }
        if (image != null) {
            if (region != null) {
                int[] r = Ids.parse("--region", region);
                if (r.length != 4) throw new Cm3LeonException("--region: expected x0,y0,x1,y1");
                parts.add(Prompt.maskedImage(Images.read(image), r[0], r[1], r[2], r[3]));
            } else {
                parts.add(Images.read(image));
            }
        }
        if (parts.isEmpty()) throw new Cm3LeonException("nothing to infill: give text with <mask> or --image with --region");
        try (Cm3Leon m = model.load()) {
            GeneratedInfill result = decoding.apply(m.infill(Prompt.of(parts.toArray()))).generate();
            var o = spec.commandLine().getOut();
            if (text != null) o.println(result.text());
            for (Prompt.Segment s : result.filled().segments()) {
                if (s instanceof Prompt.Image img && region != null) {
                    ImageFiles.writePng(img.image(), out);
                    o.println("wrote " + out);
                }
            }
            o.flush();
        }
        return 0;
    }
}
