package dev.cm3leon.cli;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.retrieval.ClipEmbedder;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.StringJoiner;
import java.util.concurrent.Callable;

/** {@code cm3leon inspect embed}: one CLIP embedding, for comparing with another runtime's. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Print the L2-normalised projected CLIP embedding of a text or an image, comma-separated.")
public final class EmbedCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--clip", required = true, paramLabel = "DIR", description = "HF CLIP folder (config.json, model.safetensors, vocab.json, merges.txt).")
    Path clip;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "STRING", description = "Text to embed.")
        String text;

        @Option(names = "--image", paramLabel = "FILE", description = "Image file to embed (PNG, JPEG, …).")
        Path image;
    }

    @Override
    public Integer call() {
        try (ClipEmbedder embedder = ClipEmbedder.load(clip)) {
            float[] e = input.text != null ? embedder.embedText(input.text) : embedder.embedImage(readImage(input.image));
            StringJoiner line = new StringJoiner(",");
            for (float f : e) line.add(Float.toString(f));
            PrintWriter out = spec.commandLine().getOut();
            out.println(line);
            out.flush();
        }
        return 0;
    }

    static BufferedImage readImage(Path file) {
        try {
            BufferedImage img = ImageIO.read(file.toFile());
            if (img == null) throw new Cm3LeonException(file + ": not a readable image (PNG, JPEG, GIF, BMP)");
            return img;
        } catch (IOException e) {
            throw new Cm3LeonException(file + ": " + e.getMessage(), e);
        }
    }
}
