package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.decode.ModalityState;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Greedy decoding with the KV cache; prints the new ids (EOS included when reached). */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Greedy generation; prints the new token ids, comma-separated, on one line.")
final class InspectGenerateCommand implements Callable<Integer> {
    enum Mode { text, image }

    @Spec CommandSpec spec;
    @Option(names = "--model", required = true, description = "HF Chameleon checkpoint folder") Path model;
    @Option(names = "--tokens", required = true, description = "comma-separated prompt token ids") String tokens;
    @Option(names = "--max-new-tokens", defaultValue = "16", description = "at most this many new tokens (default ${DEFAULT-VALUE}; image mode: the grid + EOI)") int maxNewTokens;
    @Option(names = "--greedy", description = "greedy decoding (the only mode of this tool; accepted for clarity)") boolean greedy;
    @Option(names = "--mode", defaultValue = "text", description = "text (image tokens suppressed) or image (the grid's image tokens, then the forced EOI)") Mode mode;
    @Option(names = "--uncond-tokens", description = "unconditional prompt ids for 2-stream guidance") String uncondTokens;
    @Option(names = "--cfg-scale", defaultValue = "1.0", description = "guidance scale s of u + s·(c − u) on raw logits (default ${DEFAULT-VALUE})") double cfgScale;

    @Override
    public Integer call() {
        int[] ids = Ids.parse("--tokens", tokens);
        int[] uncond = uncondTokens == null ? null : Ids.parse("--uncond-tokens", uncondTokens);
        if (maxNewTokens < 0) throw new Cm3LeonException("--max-new-tokens must be ≥ 0, got " + maxNewTokens);
        if (!Double.isFinite(cfgScale)) throw new Cm3LeonException("--cfg-scale must be a finite number");
        try (Cm3Leon m = Cm3Leon.load(model)) {
            int[] out = mode == Mode.text && uncond == null
                    ? m.generateGreedy(ids, maxNewTokens)
                    : m.generateGuidedGreedy(ids, uncond, cfgScale,
                    mode == Mode.image ? ModalityState.Output.IMAGE : ModalityState.Output.TEXT, maxNewTokens);
            spec.commandLine().getOut().println(Ids.join(out));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
