package dev.cm3leon.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TorchCheckpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The restricted unpickler and the zip reader: any pickle (inside a well-formed archive with a few storages) and any
 * archive either yields tensors inside their storages or is refused with a {@link CheckpointException}. Nothing a
 * pickle names is ever imported or called, so no input can reach code outside the reader.
 */
class TorchCheckpointFuzzTest {
    private static final Path FILE = FuzzFiles.scratch(".ckpt");

    @FuzzTest(maxDuration = "5m")
    void unpicklesOrRefuses(byte[] pickle) {
        FuzzFiles.write(FILE, archive(pickle));
        open();
    }

    @FuzzTest(maxDuration = "5m")
    void opensAnyArchiveOrRefuses(byte[] zip) {
        FuzzFiles.write(FILE, zip);
        open();
    }

    private static void open() {
        try (TorchCheckpoint ck = TorchCheckpoint.open(FILE)) {
            for (Tensor t : ck.tensors().values()) {
                assertThat(t.data().byteSize()).isEqualTo(t.elementCount() * t.dtype().byteSize());
            }
        } catch (CheckpointException refused) {
            assertThat(refused).hasMessageStartingWith(FILE.toString());
        }
    }

    /** torch.save's layout: the pickle, then storages "0"…"3" of 64 bytes each, stored. */
    static byte[] archive(byte[] pickle) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            stored(zip, "archive/data.pkl", pickle);
            for (int i = 0; i < 4; i++) stored(zip, "archive/data/" + i, new byte[64]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        CRC32 crc = new CRC32();
        crc.update(data);
        e.setMethod(ZipEntry.STORED);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
