package dev.cm3leon.engine;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.ModelConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicBoolean;

/** Finds the backends on the class path and picks one: the user's choice, else the best available. */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    private Backends() {
    }

    public static List<Backend> all() {
        List<Backend> list = new ArrayList<>();
        ServiceLoader.load(Backend.class, Backends.class.getClassLoader()).forEach(list::add);
        list.sort(Comparator.comparingInt(Backend::priority).reversed());
        return list;
    }

    public static Backend select(EngineOptions options) {
        return select(all(), options, null);
    }

    /** The user's choice, else the best available backend that can run a model of {@code config}. */
    public static Backend select(EngineOptions options, ModelConfig config) {
        return select(all(), options, config);
    }

    static Backend select(List<Backend> all, EngineOptions options, ModelConfig config) {
        if (options.backend() != null && !options.backend().isBlank()) {
            Backend b = all.stream().filter(x -> x.name().equalsIgnoreCase(options.backend())).findFirst()
                    .orElseThrow(() -> new Cm3LeonException("backend '" + options.backend() + "' is not on the class path; found "
                            + all.stream().map(Backend::name).toList()));
            Backend.Availability a = b.availability();
            if (!a.available()) throw new Cm3LeonException("backend '" + b.name() + "' is not available: " + a.reason());
            Optional<String> unsupported = config == null ? Optional.empty() : b.unsupported(config);
            if (unsupported.isPresent()) {
                throw new Cm3LeonException("backend '" + b.name() + "' cannot run this model: " + unsupported.get());
            }
            logOnce("using the {} backend (requested): {}", b.name(), a.reason());
            return b;
        }
        StringBuilder skipped = new StringBuilder();
        for (Backend b : all) {
            Backend.Availability a = b.availability();
            Optional<String> unsupported = !a.available() || config == null ? Optional.empty() : b.unsupported(config);
            if (a.available() && unsupported.isEmpty()) {
                logOnce("using the {} backend: {}{}", b.name(), a.reason(), skipped);
                return b;
            }
            skipped.append("; ").append(b.name()).append(a.available() ? " cannot run this model: " + unsupported.get()
                    : " unavailable: " + a.reason());
        }
        throw new Cm3LeonException("no backend is available" + skipped);
    }

    private static void logOnce(String format, Object... args) {
        if (LOGGED.compareAndSet(false, true)) LOG.info(format, args);
        else LOG.debug(format, args);
    }
}
