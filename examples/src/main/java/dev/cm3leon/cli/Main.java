package dev.cm3leon.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** The {@code bin/cm3leon} command line. */
@Command(name = "cm3leon", mixinStandardHelpOptions = true, version = "cm3leon 0.1.0",
        description = "Run CM3Leon-family multimodal models (Chameleon, Anole, Lumina-mGPT) on the JVM.",
        subcommands = {DemoCommand.class, TextToImageCommand.class, CaptionCommand.class, EditCommand.class,
                InfillCommand.class, MemoryCommand.class, InspectCommand.class, BenchCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with the project's error handling: one line on stderr, non-zero exit. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        // UTF-8 whatever the locale: commands print decoded text, file names and JSON.
        cl.setOut(new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true));
        cl.setErr(new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("cm3leon: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            if (Boolean.getBoolean("cm3leon.debug")) ex.printStackTrace(cmd.getErr());
            return 2;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            ex.getCommandLine().getErr().println("cm3leon: " + ex.getMessage() + " (see --help)");
            return 2;
        });
        return cl;
    }
}
