package dev.cm3leon.engine.cpu;

import dev.cm3leon.engine.Backend;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;
import dev.cm3leon.engine.KvCacheBudget;

/** The pure-Java backend: always available, the reference for the others. */
public final class CpuBackend implements Backend {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public Availability availability() {
        return Availability.yes("pure Java, Vector API, " + Parallel.threads() + " threads, "
                + MatrixWeights.F.vectorBitSize() + "-bit vectors");
    }

    @Override
    public Engine open(DecoderWeights weights, EngineOptions options) {
        return new CpuEngine(weights, KvCacheBudget.of(options));
    }
}
