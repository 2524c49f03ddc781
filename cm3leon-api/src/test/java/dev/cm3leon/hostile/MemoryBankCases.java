package dev.cm3leon.hostile;

import dev.cm3leon.retrieval.Document;
import dev.cm3leon.retrieval.DocumentImage;
import dev.cm3leon.retrieval.LuceneMemoryBank;
import dev.cm3leon.retrieval.MemoryEntry;
import dev.cm3leon.retrieval.ScoredDocument;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Persistent memory banks (Lucene HNSW) with one file of the index cut, zeroed, flipped or deleted, and banks whose
 * marker file lies. A valid bank is built with the library, then copied and broken; each copy is opened read-only and
 * searched, which is where a lazily read segment gives its corruption away.
 */
final class MemoryBankCases {
    static final int DIMENSION = 8;
    /** What an application does with a bank it did not build: open, verify, search, and read what it found. */
    static final HostileCase.Reader SEARCH = folder -> {
        try (LuceneMemoryBank bank = LuceneMemoryBank.openReadOnly(folder)) {
            bank.verifyIntegrity();
            float[] query = new float[DIMENSION];
            query[0] = 1;
            for (ScoredDocument d : bank.search(query, 5)) d.document().image().ifPresent(DocumentImage::read);
        }
    };

    private final Path dir;
    private final Path valid;
    private final List<HostileCase> cases = new ArrayList<>();
    private int folders;

    private MemoryBankCases(Path dir) {
        this.dir = dir;
        this.valid = dir.resolve("valid");
        SplittableRandom random = new SplittableRandom(5);
        try (LuceneMemoryBank bank = LuceneMemoryBank.open(valid, DIMENSION)) {
            List<MemoryEntry> entries = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                float[] v = new float[DIMENSION];
                for (int d = 0; d < DIMENSION; d++) v[d] = (float) random.nextGaussian();
                entries.add(new MemoryEntry(Document.ofText("doc-" + i, "a caption number " + i), v));
            }
            bank.add(entries);
        }
    }

    static List<HostileCase> write(Path dir, Path fixturePng) {
        MemoryBankCases c = new MemoryBankCases(dir);
        c.brokenSegments();
        c.brokenMarkers();
        c.hostileDocuments(HostileFiles.read(fixturePng));
        return c.cases;
    }

    /** Valid banks whose documents' images are bombs or point where they should not. */
    private void hostileDocuments(byte[] png) {
        byte[] bomb = ImageCases.withIhdr(png, 100_000, 100_000, 8, 2);
        Path bombFile = HostileFiles.write(dir.resolve("bomb.png"), bomb);
        Path folder = dir.resolve("not-a-bank-folder");
        try {
            Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        bank("an image that declares 100000×100000", new DocumentImage.Encoded(bomb), "above the limit");
        bank("an image that is not an image", new DocumentImage.Encoded("<html>".getBytes(StandardCharsets.UTF_8)), "not an image");
        bank("a linked image that declares 100000×100000", new DocumentImage.FileReference(bombFile), "bomb.png", "above the limit");
        bank("a linked image that is missing", new DocumentImage.FileReference(dir.resolve("absent.png")), "absent.png");
        bank("a linked image that is a folder", new DocumentImage.FileReference(folder), "folder");
        bank("a linked image that is /dev/zero", new DocumentImage.FileReference(Path.of("/dev/zero")), "/dev/zero");
    }

    /** A bank of one document with {@code image}, every vector the query, so the search finds it. */
    private void bank(String name, DocumentImage image, String... mustName) {
        Path folder = dir.resolve(String.format("%03d-", folders++) + name.replaceAll("[^A-Za-z0-9._-]", "_"));
        float[] v = new float[DIMENSION];
        v[0] = 1;
        try (LuceneMemoryBank bank = LuceneMemoryBank.open(folder, DIMENSION)) {
            bank.add(List.of(new MemoryEntry(Document.of("hostile", "a caption", image), v)));
        }
        cases.add(new HostileCase("memory bank", name, folder, SEARCH, List.of(mustName)));
    }

    private Path copy(String name) {
        Path to = dir.resolve(String.format("%03d-", folders++) + name.replaceAll("[^A-Za-z0-9._-]", "_"));
        try (Stream<Path> files = Files.walk(valid)) {
            for (Path f : files.sorted().toList()) {
                Path target = to.resolve(valid.relativize(f).toString());
                if (Files.isDirectory(f)) Files.createDirectories(target);
                else if (!f.getFileName().toString().equals("write.lock")) Files.copy(f, target);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return to;
    }

    private void add(String name, Path folder, String... mustName) {
        List<String> names = new ArrayList<>(List.of(folder.getFileName().toString()));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("memory bank", name, folder, SEARCH, names));
    }

    private void brokenSegments() {
        List<Path> files;
        try (Stream<Path> s = Files.list(valid.resolve("index"))) {
            files = s.filter(f -> !f.getFileName().toString().equals("write.lock")).sorted(Comparator.comparing(Path::toString)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path f : files) {
            String name = f.getFileName().toString();
            long size = size(f);
            breakFile(name, "deleted", p -> delete(p));
            breakFile(name, "emptied", p -> truncate(p, 0));
            breakFile(name, "cut in half", p -> truncate(p, size / 2));
            breakFile(name, "missing its last byte", p -> truncate(p, size - 1));
            breakFile(name, "with a byte flipped in its header", p -> flip(p, Math.min(12, size - 1)));
            breakFile(name, "with a byte flipped in its middle", p -> flip(p, size / 2));
            breakFile(name, "with its checksum flipped", p -> flip(p, size - 2));
        }
    }

    private void breakFile(String file, String how, java.util.function.Consumer<Path> damage) {
        Path folder = copy(file + " " + how);
        damage.accept(folder.resolve("index").resolve(file));
        add(file + " " + how, folder);
    }

    private void brokenMarkers() {
        String[][] markers = {{"not JSON", "{format_version: 1"}, {"a list", "[]"}, {"without a dimension", "{\"format_version\":1}"},
                {"a dimension of 0", "{\"format_version\":1,\"dimension\":0}"},
                {"a dimension that is a string", "{\"format_version\":1,\"dimension\":\"8\"}"},
                {"format version 99", "{\"format_version\":99,\"dimension\":8}"},
                {"format version 0", "{\"format_version\":0,\"dimension\":8}"}};
        for (String[] m : markers) {
            Path folder = copy("marker " + m[0]);
            HostileFiles.write(folder.resolve("cm3leon-bank.json"), m[1].getBytes(StandardCharsets.UTF_8));
            add("marker " + m[0], folder, m[0].startsWith("format version") ? m[0] : "cm3leon-bank.json");
        }
        Path absent = copy("marker missing");
        delete(absent.resolve("cm3leon-bank.json"));
        add("no marker", absent, "cm3leon-bank.json");
        Path huge = copy("marker 3 GB");
        HostileFiles.sparse(huge.resolve("cm3leon-bank.json"), "{\"format_version\":1,\"dimension\":\"".getBytes(StandardCharsets.UTF_8), 3L << 30);
        add("a marker of 3 GB (sparse)", huge, "cm3leon-bank.json");
        Path noIndex = copy("no index");
        try (Stream<Path> s = Files.list(noIndex.resolve("index"))) {
            for (Path f : s.toList()) Files.delete(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        add("an empty index folder", noIndex);
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void delete(Path f) {
        try {
            Files.delete(f);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void truncate(Path f, long length) {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(Math.max(0, length));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void flip(Path f, long at) {
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.seek(Math.max(0, at));
            int b = raf.read();
            raf.seek(Math.max(0, at));
            raf.write(b ^ 0x5A);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
