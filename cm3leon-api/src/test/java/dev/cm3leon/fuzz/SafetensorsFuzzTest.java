package dev.cm3leon.fuzz;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.SafetensorsFile;
import dev.cm3leon.checkpoint.Tensor;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Any bytes either open as a safetensors file whose every tensor lies inside the mapping, or are refused with a
 * {@link CheckpointException}. Runs the saved inputs in CI; {@code JAZZER_FUZZ=1} fuzzes (see docs/security.md).
 */
class SafetensorsFuzzTest {
    private static final Path FILE = FuzzFiles.scratch(".safetensors");

    @FuzzTest(maxDuration = "5m")
    @DictionaryEntries({"{\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"F32\"", "\"BF16\"",
            "\"F16\"", "\"I64\"", "\"BOOL\"", "\"F64\"", "\"U8\"", "18446744073709551615", "-1", "9223372036854775807"})
    void opensOrRefusesWithACheckpointException(byte[] bytes) {
        FuzzFiles.write(FILE, bytes);
        try (SafetensorsFile file = SafetensorsFile.open(FILE)) {
            for (Tensor t : file.tensors().values()) {
                assertThat(t.data().byteSize()).isEqualTo(t.elementCount() * t.dtype().byteSize());
                if (t.dtype().isFloatingPoint() && t.elementCount() > 0) {
                    t.getFloat(0);
                    t.getFloat(t.elementCount() - 1);
                }
            }
        } catch (CheckpointException refused) {
            assertThat(refused).hasMessageStartingWith(FILE.toString());
        }
    }
}
