package dev.cm3leon.cuda;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.engine.Backend;
import dev.cm3leon.engine.Backends;
import dev.cm3leon.engine.EngineOptions;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Backend discovery and the fallback: the CUDA backend is on the class path and outranks the CPU; without a
 * driver it says why and the CPU engine is chosen; with a GPU it is chosen. Holds on either kind of machine.
 */
class CudaBackendTest {
    static final boolean DRIVER = NativeLibrary.open(List.of(CudaDriver.LIBRARY)).isPresent();

    @Test
    void cudaIsFoundAndRanksAboveTheCpu() {
        List<Backend> all = Backends.all();
        assertThat(all).extracting(Backend::name).containsSubsequence("cuda", "cpu");
        assertThat(all.getFirst()).isInstanceOf(CudaBackend.class);
    }

    @Test
    void availabilityExplainsItself() {
        Backend.Availability a = new CudaBackend().availability();
        assertThat(a.reason()).isNotBlank();
        if (!DRIVER) {
            assertThat(a.available()).isFalse();
            assertThat(a.reason()).isEqualTo("no CUDA driver (libcuda.so.1 not found)");
        }
    }

    @Test
    void automaticSelectionFallsBackToTheCpuWithoutAGpu() {
        Backend chosen = Backends.select(new EngineOptions(null, false));
        assertThat(chosen.name()).isEqualTo(new CudaBackend().availability().available() ? "cuda" : "cpu");
    }

    @Test
    void probingAgainGivesTheSameAnswerAndOpeningExplainsTheFailure() {
        Backend.Availability first = CudaBackend.probe(), second = CudaBackend.probe();
        assertThat(second).isEqualTo(first);
        if (!first.available()) {
            assertThatThrownBy(() -> Backends.select(EngineOptions.defaults().withBackend("cuda")))
                    .isInstanceOf(Cm3LeonException.class).hasMessageContaining(first.reason());
        }
        if (!DRIVER) {
            assertThatThrownBy(() -> CudaDevice.open(0)).isInstanceOf(CudaException.class).hasMessageContaining("libcuda.so.1");
        }
    }
}
