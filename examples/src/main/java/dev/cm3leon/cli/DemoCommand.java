package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.GeneratedImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import dev.cm3leon.vq.ImageFiles;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** The main job on the shipped demo model: captions become pictures, and the pictures are captioned back. */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Text→image and image→text on the demo model: draws each prompt, then captions the drawing.")
final class DemoCommand implements Callable<Integer> {
    static final List<String> PROMPTS = List.of(
            "a large red circle at the top left",
            "a small blue square at the middle center",
            "a large green triangle at the bottom right",
            "a small purple cross at the top right");

    @Spec CommandSpec spec;
    @Mixin ModelOption model;
    @Option(names = {"-o", "--out"}, defaultValue = "demo-output", description = "folder for the images (default ${DEFAULT-VALUE})") Path out;
    @Option(names = "--seed", defaultValue = "1", description = "random seed (default ${DEFAULT-VALUE})") long seed;
    @Option(names = "--prompt", description = "prompts to draw (default: four examples)") List<String> prompts;
    @Option(names = "--grid", description = "also write one PNG with every drawing under its prompt and the caption read back")
    Path grid;

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        try (Cm3Leon m = model.load()) {
            List<String> list = prompts == null ? PROMPTS : prompts;
            List<ContactSheet.Cell> cells = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                String prompt = list.get(i);
                GeneratedImage img = m.textToImage(prompt).seed(seed + i)
                        .onProgress(new ProgressBar(spec.commandLine().getErr(), "drawing")).generate();
                Path file = out.resolve(String.format("%02d-%s.png", i, prompt.replaceAll("[^a-z0-9]+", "-")));
                img.writePng(file);
                String caption = m.caption(img.image()).generate().text();
                o.printf("text→image: \"%s\" → %s (%.1f tokens/s)%n", prompt, file, img.timings().stepsPerSecond());
                o.printf("image→text: %s → \"%s\"%n", file, caption);
                o.flush();
                cells.add(new ContactSheet.Cell(img.image(), prompt, "→ " + caption));
            }
            if (grid != null) {
                ImageFiles.writePng(ContactSheet.render(cells, 4), grid);
                o.printf("grid: %s%n", grid);
            }
        }
        return 0;
    }
}
