package dev.cm3leon.vq;

import dev.cm3leon.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Image files that must be refused, each with a typed exception naming the file and what is wrong with it. */
class ImageFilesTest {
    @TempDir
    Path tmp;

    @Test
    void refusesATruncatedPng() throws IOException {
        byte[] png = Files.readAllBytes(Fixtures.path("chameleon/image.png"));
        Path cut = Files.write(tmp.resolve("cut.png"), Arrays.copyOf(png, png.length / 2));
        assertThatThrownBy(() -> ImageFiles.read(cut)).isInstanceOf(ImageException.class)
                .hasMessageStartingWith(cut.toString()).hasMessageContaining("truncated or corrupt PNG data");
    }

    @Test
    void refusesATruncatedJpeg() throws IOException {
        BufferedImage noise = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        Random rnd = new Random(7);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) noise.setRGB(x, y, rnd.nextInt(1 << 24));
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        assertThat(ImageIO.write(noise, "jpeg", jpeg)).isTrue();
        Path whole = Files.write(tmp.resolve("whole.jpg"), jpeg.toByteArray());
        assertThat(ImageFiles.read(whole).getWidth()).isEqualTo(64);
        Path cut = Files.write(tmp.resolve("cut.jpg"), Arrays.copyOf(jpeg.toByteArray(), jpeg.size() / 2));
        assertThatThrownBy(() -> ImageFiles.read(cut)).isInstanceOf(ImageException.class)
                .hasMessageStartingWith(cut.toString()).hasMessageContaining("truncated or corrupt JPEG data");
    }

    @Test
    void refusesAFileThatIsNotAnImage() throws IOException {
        Path text = Files.writeString(tmp.resolve("notes.png"), "these are notes, not pixels");
        assertThatThrownBy(() -> ImageFiles.read(text)).isInstanceOf(ImageException.class)
                .hasMessage(text + ": not an image file (no PNG, JPEG, GIF or BMP signature)");
    }

    @Test
    void refusesEmptyAndMissingFiles() throws IOException {
        Path empty = Files.write(tmp.resolve("empty.png"), new byte[0]);
        assertThatThrownBy(() -> ImageFiles.read(empty)).isInstanceOf(ImageException.class).hasMessage(empty + ": empty file (0 bytes)");
        Path missing = tmp.resolve("missing.png");
        assertThatThrownBy(() -> ImageFiles.read(missing)).isInstanceOf(ImageException.class).hasMessage(missing + ": file not found");
    }

    @Test
    void refusesAZeroSizeImage() throws IOException {
        Path zero = Files.write(tmp.resolve("zero.png"), png(0, 16));
        assertThatThrownBy(() -> ImageFiles.read(zero)).isInstanceOf(ImageException.class)
                .hasMessageStartingWith(zero.toString()).hasMessageContaining("width");
    }

    @Test
    void refusesADecompressionBombBeforeDecodingIt() throws IOException {
        // A 100 000 × 100 000 header over a few bytes of data: refused from the header alone.
        Path bomb = Files.write(tmp.resolve("bomb.png"), png(100_000, 100_000));
        assertThatThrownBy(() -> ImageFiles.read(bomb)).isInstanceOf(ImageException.class)
                .hasMessage(bomb + ": image is 100000×100000 = 10000000000 pixels, above the limit of "
                        + ImageFiles.DEFAULT_MAX_PIXELS + " (raise the pixel budget to accept it)");
        Path small = Fixtures.path("chameleon/image.png");
        assertThatThrownBy(() -> ImagePreprocessor.chameleon(32).withMaxPixels(1000).preprocess(small))
                .isInstanceOf(ImageException.class).hasMessageContaining("32×32 = 1024 pixels, above the limit of 1000");
    }

    /** A PNG of the given header size whose data is a few zero bytes. */
    static byte[] png(int width, int height) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
                .put((byte) 0).put((byte) 0).put((byte) 0).array());
        Deflater d = new Deflater();
        d.setInput(new byte[64]);
        d.finish();
        byte[] z = new byte[128];
        int n = d.deflate(z);
        chunk(out, "IDAT", Arrays.copyOf(z, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
