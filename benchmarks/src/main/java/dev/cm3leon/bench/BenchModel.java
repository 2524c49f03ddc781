package dev.cm3leon.bench;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.GgufModel;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.SyntheticModel;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.cpu.CpuEngine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The model a benchmark runs: a checkpoint folder or GGUF file given by path, or a synthetic bf16 model of a named
 * size written to a temp folder for the trial and deleted after.
 */
final class BenchModel implements AutoCloseable {
    private final Path temp;
    private final TensorSource source;
    final CpuEngine engine;

    private BenchModel(Path temp, TensorSource source, CpuEngine engine) {
        this.temp = temp;
        this.source = source;
        this.engine = engine;
    }

    /** @param model a path, or empty for a synthetic model of {@code size}; @param quantize none, q8_0 or q4_0 */
    static BenchModel open(String model, String size, String quantize) {
        return open(model, size, quantize, "f32");
    }

    /** As {@link #open(String, String, String)}, the KV cache's elements {@code kvCache} (f32 or bf16). */
    static BenchModel open(String model, String size, String quantize, String kvCache) {
        Path temp = null;
        Path path;
        try {
            if (model.isEmpty()) {
                temp = Files.createTempDirectory("cm3leon-jmh");
                path = SyntheticModel.of(SyntheticModel.Shape.parse(size), 1).writeSafetensors(temp.resolve("model"), DType.BF16);
            } else {
                path = Path.of(model);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        EngineOptions options = new EngineOptions("cpu", false, null).quantize(quantize).withKvCache(kvCache);
        TensorSource source;
        ModelConfig config;
        if (path.toString().endsWith(".gguf")) {
            GgufModel g = GgufModel.open(path);
            source = g;
            config = g.config();
        } else {
            source = SafetensorsCheckpoint.open(path);
            config = ModelConfig.read(path.resolve("config.json"));
        }
        return new BenchModel(temp, source, new CpuEngine(DecoderWeights.from(source, config), options));
    }

    @Override
    public void close() {
        engine.close();
        source.close();
        if (temp != null) {
            try (Stream<Path> walk = Files.walk(temp)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
