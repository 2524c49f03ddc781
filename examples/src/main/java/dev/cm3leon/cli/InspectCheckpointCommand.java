package dev.cm3leon.cli;

import dev.cm3leon.TaskTemplates;
import dev.cm3leon.checkpoint.CheckpointFolder;
import dev.cm3leon.checkpoint.GroupedQkNorm;
import dev.cm3leon.checkpoint.MetaCheckpoint;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.SpecialTokens;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.VocabularyMap;
import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.checkpoint.VqGanFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * What a checkpoint folder was detected as, without running it: the weights are mapped, not read, and no engine is
 * opened, so a 30B folder is inspected in a moment.
 */
@Command(name = "checkpoint", mixinStandardHelpOptions = true,
        description = "Print what a checkpoint folder was detected as: layout, architecture, shapes, dtype, vocabulary, "
                + "image layout, VQ decoder, decoding defaults and special ids.")
final class InspectCheckpointCommand implements Runnable {
    static final String DECODER_TENSOR = "model.vqmodel.decoder.conv_in.weight";

    @Spec CommandSpec spec;
    @Parameters(index = "0", paramLabel = "DIR", description = "the checkpoint folder, as downloaded") Path folder;
    @Option(names = "--vqgan", paramLabel = "PATH", description = "where Meta's VQ-GAN files are, as for the other commands")
    Path vqgan;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        CheckpointFolder found = CheckpointFolder.detect(folder);
        VqGanFiles vq = found.vqGan(vqgan);
        CheckpointFolder.Opened opened = found.open(vq);
        try (var weights = opened.weights()) {
            ModelConfig c = opened.config();
            line(out, "layout", found.layout().description());
            line(out, "folder", found.folder() + (found.modelDir().equals(found.folder()) ? "" : " (weights in " + found.modelDir() + ")"));
            line(out, "weights", switch (weights) {
                case MetaCheckpoint m -> m.files().size() + " file(s) " + names(m.files())
                        + (m.joined() ? ", model-parallel shards joined into native memory" : ", memory-mapped");
                case SafetensorsCheckpoint s -> weights.tensors().size() + " tensors, memory-mapped";
                case GroupedQkNorm g -> weights.tensors().size() + " tensors, memory-mapped; QK-norm stored per model-parallel "
                        + "shard, expanded over its heads";
                default -> weights.describe();
            });
            line(out, "architecture", c.modelType() + ": " + c.numLayers() + " layers, hidden " + c.hiddenSize() + ", intermediate "
                    + c.intermediateSize() + ", heads " + c.numHeads() + " (kv " + c.numKvHeads() + ", head_dim " + c.headDim()
                    + "), vocab " + c.vocabSize() + ", context " + c.maxPositions() + ", rope_theta " + c.ropeTheta()
                    + " (" + (c.interleavedRope() ? "interleaved pairs" : "rotate-half") + "), qk-norm " + yesNo(c.qkNorm())
                    + ", swin_norm " + yesNo(c.swinNorm()) + ", rms_norm_eps " + c.rmsNormEps());
            line(out, "dtype", c.torchDtype() + " (tensors: " + weights.tensors().values().stream()
                    .collect(Collectors.groupingBy(t -> t.dtype().toString(), TreeMap::new, Collectors.counting())) + ")");
            line(out, "shapes", shapes(weights.tensors(), c));
            line(out, "vocabulary", c.vocabulary().map(InspectCheckpointCommand::vocabulary).orElse("none (text-only)")
                    + found.tokenizer().map(t -> "; tokenizer " + t).orElse("; no tokenizer file"));
            TaskTemplates t = TaskTemplates.forCheckpoint(found.folder(), opened.family());
            line(out, "image layout", c.vq().map(q -> imageLayout(q, t)).orElse("none (no image tokenizer)"));
            line(out, "vq decoder", c.vq().isEmpty() ? "not needed (no image tokenizer)"
                    : weights.tensors().containsKey(DECODER_TENSOR) ? "in the checkpoint (model.vqmodel.decoder.*)"
                    : vq.weights().map(w -> "found: " + w + vq.yaml().map(y -> " with " + y).orElse(""))
                    .orElse("not found; to enable image output, " + vq.whatEnablesImageOutput()));
            line(out, "decoding", "images: " + t.imageDefaults() + "; captions and questions: "
                    + t.textDefaults().map(Object::toString).orElse("greedy") + "; infilling: greedy (" + t.family()
                    + " templates" + (found.folder().resolve(TaskTemplates.FILE_NAME).toFile().isFile()
                    ? ", the folder's " + TaskTemplates.FILE_NAME : ", built in") + ")");
            SpecialTokens s = opened.special();
            line(out, "special ids", "bos " + s.bos() + ", eos " + s.eos() + ", pad " + s.pad() + ", stops " + Arrays.toString(s.stops()));
            for (String w : s.warnings()) line(out, "warning", w);
        }
    }

    private static void line(PrintWriter out, String what, String value) {
        out.printf("%-13s %s%n", what + ":", value);
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    private static String names(java.util.List<Path> files) {
        return files.stream().map(f -> f.getFileName().toString()).toList().toString();
    }

    /** The global tensors and layer 0's, which every layer repeats. */
    private static String shapes(Map<String, Tensor> tensors, ModelConfig c) {
        return tensors.values().stream()
                .filter(t -> !t.name().startsWith("model.layers.") || t.name().startsWith("model.layers.0."))
                .filter(t -> !t.name().startsWith("model.vqmodel."))
                .map(t -> t.name().replace("model.layers.0.", "layer 0 ") + " " + Arrays.toString(t.shape()))
                .collect(Collectors.joining("; ")) + " (× " + c.numLayers() + " layers)";
    }

    private static String vocabulary(VocabularyMap v) {
        int[] image = v.imageTokenIds();
        return v.tokens().size() + " tokens, " + v.imageTokenCount() + " image tokens"
                + (image.length == 0 ? "" : " (ids " + image[0] + "…" + image[image.length - 1] + ")")
                + ", BOI " + v.beginOfImage() + ", EOI " + v.endOfImage() + ", <image> " + v.imagePlaceholder()
                + ", " + v.sentinels().length + " sentinels";
    }

    private static String imageLayout(VqConfig q, TaskTemplates t) {
        if (t.imageLayout().equals(TaskTemplates.ImageLayoutSpec.CHAMELEON)) {
            return "BOI + " + q.gridSize() + "×" + q.gridSize() + " = " + q.tokensPerImage() + " codes + EOI ("
                    + q.resolution() + "×" + q.resolution() + " pixels, codebook " + q.numEmbeddings() + ")";
        }
        return t.imageLayout() + " (VQ-GAN " + q.resolution() / q.gridSize() + " px per code, codebook " + q.numEmbeddings() + ")";
    }
}
