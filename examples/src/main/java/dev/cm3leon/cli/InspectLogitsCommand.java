package dev.cm3leon.cli;

import dev.cm3leon.Cm3Leon;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Full-sequence logits [T, V] as float32 little-endian, image tokens suppressed as the reference does. */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Write the full-sequence logits (no cache) as float32 little-endian, row-major [T, V].")
final class InspectLogitsCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "HF Chameleon checkpoint folder") Path model;
    @Option(names = "--tokens", required = true, description = "comma-separated input token ids") String tokens;
    @Option(names = "--out", required = true, description = "output file") Path out;

    @Override
    public Integer call() {
        int[] ids = Ids.parse("--tokens", tokens);
        try (Cm3Leon m = Cm3Leon.load(model)) {
            float[] logits = m.logits(ids);
            Ids.writeAtomically(out, o -> {
                ByteBuffer buf = ByteBuffer.allocate(logits.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                buf.asFloatBuffer().put(logits);
                o.write(buf.array());
            });
        }
        return 0;
    }
}
