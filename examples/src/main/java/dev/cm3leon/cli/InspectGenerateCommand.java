package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.Cm3LeonException;
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
    @Spec CommandSpec spec;
    @Option(names = "--model", required = true, description = "HF Chameleon checkpoint folder") Path model;
    @Option(names = "--tokens", required = true, description = "comma-separated prompt token ids") String tokens;
    @Option(names = "--max-new-tokens", defaultValue = "16", description = "at most this many new tokens (default ${DEFAULT-VALUE})") int maxNewTokens;
    @Option(names = "--greedy", description = "greedy decoding (the only mode of this tool; accepted for clarity)") boolean greedy;

    @Override
    public Integer call() {
        int[] ids = Ids.parse("--tokens", tokens);
        if (maxNewTokens < 0) throw new Cm3LeonException("--max-new-tokens must be ≥ 0, got " + maxNewTokens);
        try (Cm3Leon m = Cm3Leon.load(model)) {
            int[] out = m.generateGreedy(ids, maxNewTokens);
            spec.commandLine().getOut().println(Ids.join(out));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }
}
