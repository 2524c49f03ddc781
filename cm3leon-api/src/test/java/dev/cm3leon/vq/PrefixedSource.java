package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TensorSource;

import java.util.LinkedHashMap;
import java.util.Map;

/** Another source's tensors under a name prefix: Meta's file seen as an HF checkpoint ({@code model.vqmodel.*}). */
final class PrefixedSource implements TensorSource {
    private final TensorSource inner;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    PrefixedSource(TensorSource inner, String prefix) {
        this.inner = inner;
        inner.tensors().forEach((name, t) -> tensors.put(prefix + name, new Tensor(prefix + name, t.dtype(), t.shape(), t.data())));
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }


    @Override
    public String describe() {
        return "prefixed " + inner.describe();
    }

    @Override
    public void close() {
        inner.close();
    }
}
