package dev.cm3leon.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;

/**
 * Meta's VQ-GAN files for a checkpoint: the image decoder that HF's converter drops, and the config beside it. Looked
 * for in a path the user gives, then in the checkpoint's own folders, in order.
 *
 * @param searched the folders looked in, in order
 * @param weights  {@value #SAFETENSORS} or {@value #CKPT}, the first found (a file the user names wins)
 * @param yaml     {@value #YAML}: beside the weights if there is one there, else the first found
 */
public record VqGanFiles(List<Path> searched, Optional<Path> weights, Optional<Path> yaml) {
    public static final String YAML = "vqgan.yaml", SAFETENSORS = "vqgan.safetensors", CKPT = "vqgan.ckpt";

    public VqGanFiles {
        searched = List.copyOf(searched);
    }

    /**
     * @param userPath a folder, or a weight file, the user named; null for none. It must exist.
     */
    public static VqGanFiles find(List<Path> folders, Path userPath) {
        List<Path> dirs = new ArrayList<>();
        Optional<Path> named = Optional.empty();
        if (userPath != null) {
            if (Files.isRegularFile(userPath)) {
                String name = userPath.getFileName().toString();
                if (!name.endsWith(".safetensors") && !name.endsWith(".ckpt")) {
                    throw CheckpointException.of(userPath, "is not a VQ-GAN weight file (" + SAFETENSORS + " or " + CKPT + ")");
                }
                named = Optional.of(userPath);
                dirs.add(userPath.toAbsolutePath().getParent());
            } else if (Files.isDirectory(userPath)) {
                dirs.add(userPath);
            } else {
                throw CheckpointException.of(userPath, "not found (given as where the VQ-GAN files are)");
            }
        }
        dirs.addAll(folders);
        List<Path> searched = List.copyOf(new LinkedHashSet<>(dirs));
        Optional<Path> weights = named.or(() -> searched.stream()
                .flatMap(d -> java.util.stream.Stream.of(d.resolve(SAFETENSORS), d.resolve(CKPT)))
                .filter(Files::isRegularFile).findFirst());
        Optional<Path> besideWeights = weights.map(w -> w.toAbsolutePath().getParent().resolve(YAML)).filter(Files::isRegularFile);
        Optional<Path> yaml = besideWeights.or(() -> searched.stream().map(d -> d.resolve(YAML)).filter(Files::isRegularFile).findFirst());
        return new VqGanFiles(searched, weights, yaml);
    }

    /** Opens the weights (memory-mapped), when found. */
    public Optional<TensorSource> open() {
        return weights.map(w -> w.getFileName().toString().endsWith(".safetensors")
                ? SafetensorsFile.open(w) : TorchCheckpoint.open(w));
    }

    /** Which files, where, would give a checkpoint without a decoder its image output. */
    public String whatEnablesImageOutput() {
        return "put Meta's " + YAML + " with " + CKPT + " or " + SAFETENSORS + " (the VQ-GAN decoder, which HF's converter drops) in "
                + String.join(" or ", searched.stream().map(Path::toString).toList())
                + ", or name them with EngineOptions.withVqGan(path) / --vqgan PATH";
    }
}
