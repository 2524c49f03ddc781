package dev.cm3leon.hostile;

import dev.cm3leon.vq.ImageFiles;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Image files that are cut short, corrupt, or declare far more pixels than they hold (decompression bombs), in PNG,
 * JPEG, GIF and BMP; and files that are not images at all. Derived from the fixture's PNG and from a JPEG of noise.
 */
final class ImageCases {
    static final HostileCase.Reader READ = ImageFiles::read;

    private final Path dir;
    private final byte[] png;
    private final List<HostileCase> cases = new ArrayList<>();
    private int files;

    private ImageCases(Path dir, Path fixturePng) {
        this.dir = dir;
        this.png = HostileFiles.read(fixturePng);
    }

    static List<HostileCase> write(Path dir, Path fixturePng) {
        ImageCases c = new ImageCases(dir, fixturePng);
        c.png();
        c.jpeg();
        c.otherFormats();
        c.notImages();
        return c.cases;
    }

    private Path file(String name, String suffix) {
        return dir.resolve(String.format("%03d-", files++) + name.replaceAll("[^A-Za-z0-9._-]", "_") + suffix);
    }

    private void add(String name, Path file, String... mustName) {
        List<String> names = new ArrayList<>(List.of(file.getFileName().toString()));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("image", name, file, READ, names));
    }

    private void png() {
        int idat = find(png, "IDAT");
        int idatLength = ByteBuffer.wrap(png, idat - 4, 4).getInt();
        long[] cuts = {4, 8, 12, 20, 29, idat + 4, idat + 4 + idatLength / 4, idat + 4 + idatLength / 2, idat + 4 + idatLength * 3 / 4};
        for (long cut : cuts) add("PNG cut at " + cut, HostileFiles.write(file("png-cut-" + cut, ".png"), Arrays.copyOf(png, (int) cut)));
        int[][] sizes = {{100_000, 100_000}, {Integer.MAX_VALUE, Integer.MAX_VALUE}, {70_000, 1000}, {1, Integer.MAX_VALUE}};
        for (int[] s : sizes) {
            add("PNG declaring " + s[0] + "×" + s[1], HostileFiles.write(file("png-bomb-" + s[0] + "x" + s[1], ".png"),
                    withIhdr(s[0], s[1], 8, 2)), "above the limit");
        }
        add("PNG declaring 0×10", HostileFiles.write(file("png-zero-width", ".png"), withIhdr(0, 10, 8, 2)));
        add("PNG with bit depth 3", HostileFiles.write(file("png-depth-3", ".png"), withIhdr(32, 32, 3, 2)));
        add("PNG with colour type 7", HostileFiles.write(file("png-colour-7", ".png"), withIhdr(32, 32, 8, 7)));
        byte[] corrupt = png.clone();
        for (int i = idat + 10; i < idat + 10 + Math.min(40, idatLength - 10); i++) corrupt[i] ^= 0x5A;
        add("PNG with corrupt image data", HostileFiles.write(file("png-corrupt-idat", ".png"), corrupt));
        add("PNG without image data", HostileFiles.write(file("png-no-idat", ".png"), withoutChunk(png, idat)));
        add("PNG bomb: 8192×8192 of zeros, deflated", HostileFiles.write(file("png-zlib-bomb", ".png"), zlibBomb(8193, 8192)),
                "above the limit");
    }

    private void jpeg() {
        BufferedImage noise = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(3);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) noise.setRGB(x, y, r.nextInt(1 << 24));
        byte[] jpg = encode(noise, "jpeg");
        int sos = find(jpg, new byte[]{(byte) 0xFF, (byte) 0xDA});
        for (long cut : new long[]{2, 20, sos, sos + 20, (sos + jpg.length) / 2, jpg.length - 20}) {
            add("JPEG cut at " + cut, HostileFiles.write(file("jpeg-cut-" + cut, ".jpg"), Arrays.copyOf(jpg, (int) cut)));
        }
        int sof = find(jpg, new byte[]{(byte) 0xFF, (byte) 0xC0});
        byte[] huge = jpg.clone();
        ByteBuffer.wrap(huge).putShort(sof + 5, (short) 65500).putShort(sof + 7, (short) 65500);
        add("JPEG declaring 65500×65500", HostileFiles.write(file("jpeg-bomb", ".jpg"), huge), "above the limit");
        byte[] scrambled = jpg.clone();
        for (int i = sos + 20; i < scrambled.length - 2; i += 3) scrambled[i] = (byte) 0xFF;
        add("JPEG with scrambled entropy data", HostileFiles.write(file("jpeg-scrambled", ".jpg"), scrambled));
        byte[] noTables = jpg.clone();
        int dht = find(jpg, new byte[]{(byte) 0xFF, (byte) 0xC4});
        noTables[dht + 1] = (byte) 0xEE;
        add("JPEG whose Huffman table is an unknown marker", HostileFiles.write(file("jpeg-no-huffman", ".jpg"), noTables));
    }

    private void otherFormats() {
        BufferedImage small = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        byte[] gif = encode(small, "gif");
        int descriptor = find(gif, new byte[]{0x2C, 0, 0, 0, 0});
        ByteBuffer.wrap(gif).order(ByteOrder.LITTLE_ENDIAN).putShort(6, (short) -1).putShort(8, (short) -1)
                .putShort(descriptor + 5, (short) -1).putShort(descriptor + 7, (short) -1);
        add("GIF declaring 65535×65535", HostileFiles.write(file("gif-bomb", ".gif"), gif), "above the limit");
        byte[] gifCut = encode(small, "gif");
        add("GIF cut in its image data", HostileFiles.write(file("gif-cut", ".gif"), Arrays.copyOf(gifCut, gifCut.length - 8)));
        byte[] bmp = encode(small, "bmp");
        byte[] bmpHuge = bmp.clone();
        ByteBuffer.wrap(bmpHuge).order(ByteOrder.LITTLE_ENDIAN).putInt(18, 100_000).putInt(22, 100_000);
        add("BMP declaring 100000×100000", HostileFiles.write(file("bmp-bomb", ".bmp"), bmpHuge), "BMP");
        add("BMP cut in its pixels", HostileFiles.write(file("bmp-cut", ".bmp"), Arrays.copyOf(bmp, bmp.length / 2)));
    }

    private void notImages() {
        add("a text file", HostileFiles.write(file("text", ".png"), "not an image".getBytes(StandardCharsets.UTF_8)), "not an image");
        add("an empty file", HostileFiles.write(file("empty", ".png"), new byte[0]), "empty");
        add("zeros", HostileFiles.write(file("zeros", ".png"), new byte[4096]), "not an image");
        add("a PNG signature alone", HostileFiles.write(file("signature", ".png"), Arrays.copyOf(png, 8)));
        add("a 3 GB file of zeros (sparse)", HostileFiles.sparse(file("zeros-3gb", ".png"), new byte[0], 3L << 30), "not an image");
        add("a 3 GB PNG declaring 2^31-1 × 2^31-1 (sparse)", HostileFiles.sparse(file("png-3gb", ".png"),
                withIhdr(Integer.MAX_VALUE, Integer.MAX_VALUE, 8, 2), 3L << 30), "above the limit");
        Path folder = file("folder", ".png");
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        add("a folder", folder, "folder");
        add("a missing file", file("missing", ".png"), "not found");
    }

    private byte[] withIhdr(int width, int height, int bitDepth, int colourType) {
        return withIhdr(png, width, height, bitDepth, colourType);
    }

    /** {@code png} with its IHDR replaced (and its CRC recomputed, so only the values are wrong). */
    static byte[] withIhdr(byte[] png, int width, int height, int bitDepth, int colourType) {
        byte[] out = png.clone();
        ByteBuffer b = ByteBuffer.wrap(out);
        b.putInt(16, width).putInt(20, height).put(24, (byte) bitDepth).put(25, (byte) colourType);
        CRC32 crc = new CRC32();
        crc.update(out, 12, 17);
        b.putInt(29, (int) crc.getValue());
        return out;
    }

    /** A PNG of {@code width × height} grey pixels whose IDAT is a few kilobytes of deflated zeros. */
    private static byte[] zlibBomb(int width, int height) {
        Deflater deflater = new Deflater(9);
        byte[] row = new byte[width + 1];
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        byte[] buf = new byte[1 << 16];
        for (int y = 0; y < height; y++) {
            deflater.setInput(row);
            while (!deflater.needsInput()) idat.write(buf, 0, deflater.deflate(buf));
        }
        deflater.finish();
        while (!deflater.finished()) idat.write(buf, 0, deflater.deflate(buf));
        deflater.end();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[]{(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 0).put((byte) 0)
                .put((byte) 0).put((byte) 0).array());
        chunk(out, "IDAT", idat.toByteArray());
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

    private static byte[] withoutChunk(byte[] png, int typeAt) {
        int length = ByteBuffer.wrap(png, typeAt - 4, 4).getInt();
        int start = typeAt - 4, end = typeAt + 4 + length + 4;
        byte[] out = new byte[png.length - (end - start)];
        System.arraycopy(png, 0, out, 0, start);
        System.arraycopy(png, end, out, start, png.length - end);
        return out;
    }

    private static byte[] encode(BufferedImage image, String format) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(image, format, out)) throw new IllegalStateException("no " + format + " writer");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    private static int find(byte[] b, String ascii) {
        return find(b, ascii.getBytes(StandardCharsets.US_ASCII));
    }

    private static int find(byte[] b, byte[] what) {
        outer:
        for (int i = 0; i + what.length <= b.length; i++) {
            for (int j = 0; j < what.length; j++) if (b[i + j] != what[j]) continue outer;
            return i;
        }
        throw new IllegalArgumentException("not found");
    }
}
