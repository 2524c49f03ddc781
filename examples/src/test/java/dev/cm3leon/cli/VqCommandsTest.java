package dev.cm3leon.cli;

import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code inspect vq-encode} and {@code inspect vq-decode} as a user runs them. */
class VqCommandsTest {
    @TempDir
    Path tmp;

    static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void encodePrintsTheReferenceCodes() {
        CliRun r = run("inspect", "vq-encode", "--model", Fixtures.path("chameleon/model").toString(),
                "--image", Fixtures.path("chameleon/image.png").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        String expected = Arrays.stream(Fixtures.ints(Fixtures.json("chameleon/golden.json").get("image").get("vq")
                .get("codebook_indices_rowmajor"))).mapToObj(Integer::toString).collect(Collectors.joining(","));
        assertThat(r.out()).isEqualTo(expected);
    }

    @Test
    void decodeWritesThePngAndTheRawFloats() throws IOException {
        String codes = Arrays.stream(Fixtures.ints(Fixtures.json("vqgan/golden.json").get("image_encode").get("codes_rowmajor")))
                .mapToObj(Integer::toString).collect(Collectors.joining(","));
        Path png = tmp.resolve("out/image.png"), raw = tmp.resolve("image.bin");
        CliRun r = run("inspect", "vq-decode", "--model", Fixtures.path("vqgan").toString(), "--codes", codes,
                "--out", png.toString(), "--raw", raw.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(javax.imageio.ImageIO.read(png.toFile()).getWidth()).isEqualTo(32);
        float[] expected = Fixtures.f32(Fixtures.path("vqgan/golden/image_decoded_f32.f32.bin"));
        assertThat(Fixtures.maxAbsDiff(Fixtures.f32(raw), expected)).isLessThanOrEqualTo(1e-4);
        assertThat(Files.size(raw)).isEqualTo(3 * 32 * 32 * 4);

        // Both outputs get what the umask gives any new file (0644 typically), not a temporary file's 0600.
        var plain = Files.getPosixFilePermissions(Files.createFile(tmp.resolve("plain")));
        assertThat(Files.getPosixFilePermissions(png)).isEqualTo(plain);
        assertThat(Files.getPosixFilePermissions(raw)).isEqualTo(plain);
    }

    @Test
    void badInputIsOneLineAndANonZeroExit() {
        CliRun r = run("inspect", "vq-decode", "--model", Fixtures.path("vqgan").toString(), "--codes", "1,2,99,4",
                "--out", tmp.resolve("x.png").toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("cm3leon: code 99 at position 2 (row 1, column 0) is outside the codebook of 32 entries");
        CliRun notImage = run("inspect", "vq-encode", "--model", Fixtures.path("vqgan").toString(),
                "--image", Fixtures.path("vqgan/vqgan.yaml").toString());
        assertThat(notImage.exit()).isEqualTo(2);
        assertThat(notImage.err()).contains("vqgan.yaml: not an image file").doesNotContain("\n");
    }
}
