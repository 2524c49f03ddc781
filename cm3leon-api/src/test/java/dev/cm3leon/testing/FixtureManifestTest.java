package dev.cm3leon.testing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The golden files are the reference implementations' output, byte for byte: {@code SHA256SUMS} (in
 * {@code sha256sum}'s format, so {@code sha256sum -c SHA256SUMS} checks the same by hand) names every file of the
 * fixtures folder but its top README, and each must hash to the listed digest.
 */
class FixtureManifestTest {
    private static final String MANIFEST = "SHA256SUMS";

    @Test
    void everyFixtureMatchesItsListedDigestAndNoneIsUnlisted() throws IOException {
        Path root = Fixtures.root();
        assertThat(manifest(root.resolve(MANIFEST))).as("entries in %s", MANIFEST).hasSizeGreaterThan(100);
        assertThat(problems(root)).as("fixtures that differ from %s", MANIFEST).isEmpty();
    }

    @Test
    void aChangedAMissingAndAnUnlistedFileAreEachCaught(@TempDir Path copy) throws IOException {
        Path root = Fixtures.root();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path to = copy.resolve(root.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(to);
                else Files.copy(p, to);
            }
        }
        assertThat(problems(copy)).isEmpty();

        Path changed = copy.resolve("chameleon/golden/text_logits.f32.bin");
        byte[] bytes = Files.readAllBytes(changed);
        bytes[bytes.length / 2] ^= 1;
        Files.write(changed, bytes);
        Files.delete(copy.resolve("vqgan/vqgan.yaml"));
        Files.writeString(copy.resolve("clip/golden/extra.bin"), "x");

        assertThat(problems(copy)).containsExactlyInAnyOrder(
                "chameleon/golden/text_logits.f32.bin: sha256 " + sha256(changed) + ", listed "
                        + manifest(copy.resolve(MANIFEST)).get("chameleon/golden/text_logits.f32.bin"),
                "vqgan/vqgan.yaml: missing",
                "clip/golden/extra.bin: not listed");
    }

    /** Every way the folder differs from its manifest, one line each. */
    static List<String> problems(Path root) throws IOException {
        Map<String, String> listed = manifest(root.resolve(MANIFEST));
        List<String> out = new ArrayList<>();
        for (var e : listed.entrySet()) {
            Path file = root.resolve(e.getKey());
            if (!Files.isRegularFile(file)) {
                out.add(e.getKey() + ": missing");
            } else if (!sha256(file).equals(e.getValue())) {
                out.add(e.getKey() + ": sha256 " + sha256(file) + ", listed " + e.getValue());
            }
        }
        TreeSet<String> present = new TreeSet<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(Files::isRegularFile).map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .filter(name -> !name.equals(MANIFEST) && !name.equals("README.md"))
                    .forEach(present::add);
        }
        present.removeAll(listed.keySet());
        present.forEach(name -> out.add(name + ": not listed"));
        return out;
    }

    private static Map<String, String> manifest(Path file) throws IOException {
        Map<String, String> out = new TreeMap<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank()) continue;
            // sha256sum's text format: 64 hex digits, a space, a space or '*', the path
            assertThat(line).as("%s line", MANIFEST).matches("[0-9a-f]{64} [ *].+");
            String previous = out.put(line.substring(66), line.substring(0, 64));
            assertThat(previous).as("%s lists %s twice", MANIFEST, line.substring(66)).isNull();
        }
        return out;
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
