package dev.cm3leon.engine;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A backend that cannot run a model's architecture is passed over automatically and refused when asked for. */
class BackendSelectionTest {
    static final ModelConfig HF = ModelConfig.read(Fixtures.path("chameleon/model/config.json"));
    static final ModelConfig INTERLEAVED = new ModelConfig(HF.modelType(), HF.hiddenSize(), HF.intermediateSize(),
            HF.numLayers(), HF.numHeads(), HF.numKvHeads(), HF.headDim(), HF.vocabSize(), HF.maxPositions(), HF.ropeTheta(),
            HF.rmsNormEps(), HF.swinNorm(), HF.qkNorm(), HF.tieWordEmbeddings(), HF.bosId(), HF.eosId(), HF.padId(),
            HF.torchDtype(), HF.vocabulary(), HF.vq(), true);

    /** Available, preferred, and unable to rotate interleaved pairs. */
    record HalvesOnly(String name) implements Backend {
        public int priority() {
            return 10;
        }

        public Availability availability() {
            return Availability.yes("always");
        }

        public Engine open(DecoderWeights weights, EngineOptions options) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Optional<String> unsupported(ModelConfig config) {
            return config.interleavedRope() ? Optional.of("no interleaved RoPE") : Optional.empty();
        }
    }

    final List<Backend> backends = List.of(new HalvesOnly("gpu"), new dev.cm3leon.engine.cpu.CpuBackend());

    @Test
    void thePreferredBackendRunsWhatItSupports() {
        assertThat(Backends.select(backends, EngineOptions.defaults().withBackend(null), HF).name()).isEqualTo("gpu");
    }

    @Test
    void aModelItCannotRunFallsToTheNextBackend() {
        assertThat(Backends.select(backends, EngineOptions.defaults().withBackend(null), INTERLEAVED).name()).isEqualTo("cpu");
    }

    @Test
    void askingForItByNameSaysWhyNot() {
        assertThatThrownBy(() -> Backends.select(backends, EngineOptions.defaults().withBackend("gpu"), INTERLEAVED))
                .isInstanceOf(Cm3LeonException.class).hasMessageContaining("'gpu' cannot run this model: no interleaved RoPE");
    }
}
