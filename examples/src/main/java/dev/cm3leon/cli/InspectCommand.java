package dev.cm3leon.cli;

import picocli.CommandLine.Command;

/** Tools for checking parity with other runtimes: logits, greedy generation, tokenizers, the image tokenizer. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "What a checkpoint folder was detected as, and low-level tools for parity checks against other runtimes.",
        subcommands = {InspectCheckpointCommand.class, InspectLogitsCommand.class, InspectGenerateCommand.class, InspectTokenizeCommand.class,
                VqEncodeCommand.class, VqDecodeCommand.class, EmbedCommand.class})
public final class InspectCommand {
}
