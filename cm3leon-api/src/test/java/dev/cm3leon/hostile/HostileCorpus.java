package dev.cm3leon.hostile;

import dev.cm3leon.testing.Fixtures;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The hostile-input corpus: malformed files generated from the valid fixtures into a folder, one family per kind of
 * input the library reads. The files are generated rather than committed because several are sparse stand-ins for
 * files of gigabytes. Run {@link #main} to write the corpus somewhere to look at it.
 */
public final class HostileCorpus {
    private HostileCorpus() {
    }

    /** Writes every case under {@code root} (which must be empty or absent) and returns them. */
    public static List<HostileCase> write(Path root) throws IOException {
        List<HostileCase> all = new ArrayList<>();
        all.addAll(SafetensorsCases.write(Files.createDirectories(root.resolve("safetensors")),
                Fixtures.path("chameleon/model/model.safetensors")));
        all.addAll(ShardedCases.write(Files.createDirectories(root.resolve("sharded")),
                Fixtures.path("chameleon-bf16-sharded/model")));
        all.addAll(ConfigCases.write(Files.createDirectories(root.resolve("config")), Fixtures.path("chameleon/model")));
        all.addAll(TokenizerCases.write(Files.createDirectories(root.resolve("tokenizer")), Fixtures.path("tokenizers")));
        all.addAll(CkptCases.write(Files.createDirectories(root.resolve("ckpt")), Fixtures.path("vqgan/vqgan.ckpt")));
        all.addAll(ImageCases.write(Files.createDirectories(root.resolve("image")), Fixtures.path("chameleon/image.png")));
        all.addAll(MemoryBankCases.write(Files.createDirectories(root.resolve("memory-bank")), Fixtures.path("chameleon/image.png")));
        return all;
    }

    /** {@code HostileCorpus <folder>}: writes the corpus there and lists the cases. */
    public static void main(String[] args) throws IOException {
        Path root = Path.of(args.length > 0 ? args[0] : "target/hostile");
        for (HostileCase c : write(root)) System.out.println(c.family() + "\t" + c.name() + "\t" + root.relativize(c.input()));
    }
}
