package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.engine.EngineOptions;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** {@code --model DIR}, defaulting to the shipped demo model, and {@code --backend}. */
final class ModelOption {
    @Option(names = "--model", description = "checkpoint folder (default: the shipped demo model)")
    Path model;

    @Option(names = "--backend", description = "cpu or cuda (default: the best available)")
    String backend;

    @Option(names = "--vqgan", paramLabel = "PATH", description = "Meta's VQ-GAN files (a folder with vqgan.yaml and "
            + "vqgan.ckpt or vqgan.safetensors, or one of those files) for a checkpoint without the image decoder "
            + "(default: looked for in the model folder and its tokenizer/)")
    Path vqgan;

    Path folder() {
        if (model != null) return model;
        String home = System.getProperty("cm3leon.home");
        Path demo = Path.of(home == null ? "." : home, "examples", "demo-model");
        if (!Files.isDirectory(demo)) {
            throw new Cm3LeonException("no --model given and the demo model is missing at " + demo);
        }
        return demo;
    }

    Cm3Leon load() {
        return Cm3Leon.load(folder(), EngineOptions.defaults().withBackend(backend).withVqGan(vqgan));
    }
}
