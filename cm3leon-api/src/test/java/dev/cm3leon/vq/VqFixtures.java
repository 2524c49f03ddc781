package dev.cm3leon.vq;

import dev.cm3leon.testing.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Readers for the VQ fixtures' raw arrays, and model folders assembled from fixture files. */
final class VqFixtures {
    private VqFixtures() {
    }

    static int[] i32(String base, com.fasterxml.jackson.databind.JsonNode desc) {
        ByteBuffer b = ByteBuffer.wrap(Fixtures.bytes(Fixtures.path(base).resolve(desc.get("file").asText())))
                .order(ByteOrder.LITTLE_ENDIAN);
        int[] out = new int[b.remaining() / 4];
        b.asIntBuffer().get(out);
        return out;
    }

    static byte[] u8(String base, com.fasterxml.jackson.databind.JsonNode desc) {
        return Fixtures.bytes(Fixtures.path(base).resolve(desc.get("file").asText()));
    }

    /** Links (or copies, where links are not allowed) fixture files into {@code folder}. */
    static Path assemble(Path folder, String... fixtureFiles) {
        try {
            Files.createDirectories(folder);
            for (String f : fixtureFiles) {
                Path src = Fixtures.path(f), dst = folder.resolve(src.getFileName());
                try {
                    Files.createSymbolicLink(dst, src);
                } catch (UnsupportedOperationException | IOException e) {
                    Files.copy(src, dst);
                }
            }
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a folder made by {@link #assemble}: links are removed, never what they point to. */
    static void delete(Path folder) {
        try (var files = Files.walk(folder)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
