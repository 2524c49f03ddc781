package dev.cm3leon.spark;

import dev.cm3leon.Cm3Leon;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One loaded model per executor JVM and model folder: loaded by the first task that needs it, then shared by every
 * task the executor runs (a model is thread-safe, and its weights are mapped once), closed when the JVM exits.
 */
final class ExecutorModels {
    private static final Logger log = LoggerFactory.getLogger(ExecutorModels.class);
    private static final Map<Path, Cm3Leon> loaded = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> loaded.values().forEach(Cm3Leon::close), "cm3leon-models-close"));
    }

    private ExecutorModels() {
    }

    static Cm3Leon get(String folder) {
        return loaded.computeIfAbsent(Path.of(folder).toAbsolutePath().normalize(), p -> {
            long start = System.nanoTime();
            Cm3Leon m = Cm3Leon.load(p);
            log.info("loaded {} in this executor in {} ms", p, (System.nanoTime() - start) / 1_000_000);
            return m;
        });
    }

    /** How many models this JVM holds (for tests: one per folder, however many tasks ran). */
    static int count() {
        return loaded.size();
    }
}
