package dev.cm3leon.cli;

import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.vq.CodeGrid;
import dev.cm3leon.vq.ImageFiles;
import dev.cm3leon.vq.ImagePreprocessor;
import dev.cm3leon.vq.VqGan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** Prints an image's codebook indices, row-major, comma-separated: compare them with the reference's. */
@Command(name = "vq-encode", mixinStandardHelpOptions = true,
        description = "Encode an image with the VQ-GAN image tokenizer; prints the codebook indices (row-major, comma-separated).")
public final class VqEncodeCommand implements Callable<Integer> {
    /** Which reference's preprocessing to reproduce. */
    enum Preprocessing { auto, hf, meta }

    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "HF Chameleon folder, or a folder with Meta's vqgan.yaml and vqgan.safetensors or vqgan.ckpt")
    Path model;

    @Option(names = "--image", required = true, paramLabel = "FILE", description = "PNG or JPEG image")
    Path image;

    @Option(names = "--preprocessing", defaultValue = "auto", paramLabel = "auto|hf|meta",
            description = "auto: the folder's preprocessor_config.json (HF), else Meta's when it has vqgan.yaml, else HF's defaults")
    Preprocessing preprocessing;

    @Option(names = "--max-pixels", paramLabel = "N", description = "refuse larger images before decoding them (default: ${DEFAULT-VALUE})")
    long maxPixels = ImageFiles.DEFAULT_MAX_PIXELS;

    @Override
    public Integer call() {
        VqGan vq = VqGan.load(model);
        CodeGrid codes = vq.encode(preprocessor(vq.config()).withMaxPixels(maxPixels).preprocess(image));
        spec.commandLine().getOut().println(Arrays.stream(codes.codes()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        return 0;
    }

    private ImagePreprocessor preprocessor(VqConfig config) {
        Path hfConfig = model.resolve("preprocessor_config.json");
        return switch (preprocessing) {
            case hf -> Files.isRegularFile(hfConfig) ? ImagePreprocessor.fromConfig(hfConfig) : ImagePreprocessor.chameleon(config.resolution());
            case meta -> ImagePreprocessor.meta(config.resolution());
            case auto -> Files.isRegularFile(hfConfig) ? ImagePreprocessor.fromConfig(hfConfig)
                    : Files.isRegularFile(model.resolve(VqGan.META_CONFIG)) ? ImagePreprocessor.meta(config.resolution())
                    : ImagePreprocessor.chameleon(config.resolution());
        };
    }
}
