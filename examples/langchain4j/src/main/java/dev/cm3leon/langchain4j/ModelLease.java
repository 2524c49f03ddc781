package dev.cm3leon.langchain4j;

import dev.cm3leon.Cm3Leon;
import dev.cm3leon.engine.EngineOptions;

import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The model an adapter serves: loaded by the adapter from a folder (then closed with it), or handed in by the
 * application (then left open, since other adapters may share it).
 */
final class ModelLease implements AutoCloseable {
    private final Cm3Leon model;
    private final boolean owned;
    private final AtomicBoolean closed = new AtomicBoolean();

    private ModelLease(Cm3Leon model, boolean owned) {
        this.model = model;
        this.owned = owned;
    }

    /** From a builder's settings: exactly one of a loaded model or a folder to load. */
    static ModelLease of(Cm3Leon model, Path modelPath, EngineOptions options, String adapter) {
        if (model != null && modelPath != null) {
            throw new IllegalArgumentException(adapter + ": give either model(...) or modelPath(...), not both");
        }
        if (model != null) return new ModelLease(model, false);
        if (modelPath == null) throw new IllegalArgumentException(adapter + ": modelPath(...) or model(...) is required");
        return new ModelLease(Cm3Leon.load(modelPath, Objects.requireNonNullElse(options, EngineOptions.defaults())), true);
    }

    /** The model, or an {@link IllegalStateException} once the adapter is closed. */
    Cm3Leon model() {
        if (closed.get()) throw new IllegalStateException("this cm3leon model adapter is closed");
        return model;
    }

    String name() {
        return model.folder().getFileName().toString();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true) && owned) model.close();
    }
}
