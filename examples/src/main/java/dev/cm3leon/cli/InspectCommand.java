package dev.cm3leon.cli;

import picocli.CommandLine.Command;

/** Tools for checking parity with other runtimes: logits, greedy generation, tokenizers, the image tokenizer. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Low-level tools for parity checks against other runtimes.",
        subcommands = {InspectLogitsCommand.class, InspectGenerateCommand.class, InspectTokenizeCommand.class,
                VqEncodeCommand.class, VqDecodeCommand.class, EmbedCommand.class})
public final class InspectCommand {
}
