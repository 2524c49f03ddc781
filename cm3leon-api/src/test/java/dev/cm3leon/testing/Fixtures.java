package dev.cm3leon.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the reference implementations' golden outputs, committed in {@code cm3leon-api/src/test/fixtures}. */
public final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Fixtures() {
    }

    /** Where the fixtures sit inside the repository, relative to its root. */
    public static final String IN_REPOSITORY = "cm3leon-api/src/test/fixtures";

    /**
     * The fixtures folder: the {@code cm3leon.fixtures} property (an override; the build sets it to the copy in the
     * repository), else {@link #IN_REPOSITORY} under the working directory or one of its parents, so a test started
     * from a module folder or the checkout's root finds the same copy.
     */
    public static Path root() {
        String prop = System.getProperty("cm3leon.fixtures");
        if (prop != null && !prop.isBlank()) {
            Path p = Path.of(prop);
            if (!Files.isDirectory(p)) throw new IllegalStateException("-Dcm3leon.fixtures=" + prop + " is not a folder");
            return p.toAbsolutePath().normalize();
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve(IN_REPOSITORY);
            if (Files.isDirectory(candidate)) return candidate;
        }
        throw new IllegalStateException("fixtures not found: no " + IN_REPOSITORY + " above " + Path.of("").toAbsolutePath()
                + " (run from the checkout, or set -Dcm3leon.fixtures=DIR)");
    }

    public static Path path(String relative) {
        return root().resolve(relative);
    }

    public static JsonNode json(String relative) {
        try {
            return JSON.readTree(path(relative).toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static float[] f32(Path file) {
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            float[] out = new float[b.remaining() / 4];
            b.asFloatBuffer().get(out);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A golden array described by a {@code {"file": …}} node, relative to {@code base}. */
    public static float[] f32(String base, JsonNode desc) {
        return f32(path(base).resolve(desc.get("file").asText()));
    }

    public static byte[] bytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asInt();
        return out;
    }

    /** Largest |a[i] − b[i]|; infinities and ±MAX_VALUE must match exactly (they count as 0 when equal). */
    public static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("length " + a.length + " != " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) continue;
            if (Float.isNaN(a[i]) || Float.isNaN(b[i])) return Double.POSITIVE_INFINITY;
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }
}
