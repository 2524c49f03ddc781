package dev.cm3leon.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cm3leon.retrieval.LuceneMemoryBank;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code --retrieve} on a model folder that ships image–caption pairs builds its default bank on first use. */
class ShippedMemoryBankTest {
    private static final Path DEMO = Path.of("demo-model");

    @TempDir
    Path dir;

    /** The demo model without a built bank, as a fresh clone has it. */
    private Path freshDemoCopy() throws IOException {
        Path model = dir.resolve("model");
        try (Stream<Path> paths = Files.walk(DEMO)) {
            for (Path p : paths.sorted(Comparator.naturalOrder()).toList()) {
                Path rel = DEMO.relativize(p);
                if (rel.startsWith(RetrievalMixin.DEFAULT_BANK)) continue;
                Path to = model.resolve(rel.toString());
                if (Files.isDirectory(p)) Files.createDirectories(to);
                else Files.copy(p, to);
            }
        }
        return model;
    }

    /**
     * The shipped documents are what retrieval can find: every sticker of the world (held-out ones included) once at
     * each placement, and one picture of every plain caption, as {@code demo.json}'s world defines them.
     */
    @Test
    void theShippedDocumentsHoldEveryCaptionOfTheWorldOnce() throws IOException {
        ObjectMapper json = new ObjectMapper();
        JsonNode world = json.readTree(DEMO.resolve("demo.json").toFile()).get("world");
        List<String> expected = new ArrayList<>();
        List<String> places = new ArrayList<>();
        for (JsonNode row : world.get("rows")) {
            for (JsonNode col : world.get("columns")) {
                world.get("sizes").fieldNames().forEachRemaining(size ->
                        places.add(size + "|at the " + row.asText() + " " + col.asText()));
            }
        }
        for (String place : places) {
            String[] sizeWhere = place.split("\\|");
            world.get("stickers").fieldNames().forEachRemaining(name ->
                    expected.add("a " + sizeWhere[0] + " " + name + " " + sizeWhere[1]));
            for (JsonNode shape : world.get("shapes")) {
                world.get("colours").fieldNames().forEachRemaining(colour ->
                        expected.add("a " + sizeWhere[0] + " " + colour + " " + shape.asText() + " " + sizeWhere[1]));
            }
        }
        List<String> captions = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        try (Stream<String> lines = Files.lines(DEMO.resolve(RetrievalMixin.SHIPPED_DOCUMENTS))) {
            for (String line : lines.filter(l -> !l.isBlank()).toList()) {
                JsonNode doc = json.readTree(line);
                assertThat(ids.add(doc.get("id").asText())).as("unique id %s", doc.get("id")).isTrue();
                assertThat(DEMO.resolve("memory").resolve(doc.get("image").asText())).isRegularFile();
                captions.add(doc.get("caption").asText());
            }
        }
        assertThat(expected).hasSize(12 * 18 + 432);
        assertThat(captions).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void theFirstRetrievalBuildsTheBankOnceFromTheShippedPairs() throws IOException {
        Path model = freshDemoCopy();
        long pairs;
        try (Stream<String> lines = Files.lines(model.resolve(RetrievalMixin.SHIPPED_DOCUMENTS))) {
            pairs = lines.filter(l -> !l.isBlank()).count();
        }
        CliRun first = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--greedy", "-o", dir.resolve("a.png").toString());
        assertThat(first.exit()).as(first.err()).isZero();
        Path bank = model.resolve(RetrievalMixin.DEFAULT_BANK);
        try (LuceneMemoryBank b = LuceneMemoryBank.openReadOnly(bank)) {
            assertThat(b.size()).isEqualTo(pairs);
        }
        try (Stream<Path> siblings = Files.list(model)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".partial-"));
        }
        FileTime built = Files.getLastModifiedTime(bank.resolve("cm3leon-bank.json"));

        CliRun second = CliRun.of("text-to-image", "a small dax at the bottom right", "--model", model.toString(), "--retrieve", "1",
                "--ef-search", "64", "--greedy", "-o", dir.resolve("b.png").toString());
        assertThat(second.exit()).as(second.err()).isZero();
        assertThat(Files.getLastModifiedTime(bank.resolve("cm3leon-bank.json"))).isEqualTo(built);
    }

    /** A model folder whose CLIP was replaced in place (a newer demo model pulled) must not search the old vectors. */
    @Test
    void aBankOlderThanTheClipWeightsIsBuiltAgain() throws IOException {
        Path model = freshDemoCopy();
        CliRun first = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--greedy", "-o", dir.resolve("a.png").toString());
        assertThat(first.exit()).as(first.err()).isZero();
        Path bank = model.resolve(RetrievalMixin.DEFAULT_BANK);
        Path documents = model.resolve(RetrievalMixin.SHIPPED_DOCUMENTS);
        Path weights = model.resolve("clip").resolve("model.safetensors");
        assertThat(RetrievalMixin.builtBefore(bank, documents, weights.getParent())).isFalse();

        // the bank as it was before the pull that brought these weights
        FileTime built = FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() - 10_000);
        Files.setLastModifiedTime(bank, built);
        assertThat(RetrievalMixin.builtBefore(bank, documents, weights.getParent())).isTrue();
        CliRun second = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--greedy", "-o", dir.resolve("b.png").toString());
        assertThat(second.exit()).as(second.err()).isZero();
        assertThat(Files.getLastModifiedTime(bank)).isGreaterThan(built);
        assertThat(RetrievalMixin.builtBefore(bank, documents, weights.getParent())).isFalse();
    }

    @Test
    void aBankOlderThanItsDocumentsIsBuiltAgainAndNearCopiesAreKeptOnRequest() throws IOException {
        Path model = freshDemoCopy();
        Path documents = model.resolve(RetrievalMixin.SHIPPED_DOCUMENTS);
        CliRun first = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--greedy", "-o", dir.resolve("a.png").toString());
        assertThat(first.exit()).as(first.err()).isZero();
        // the model folder is updated in place: the blick documents only (one per placement)
        java.util.List<String> blick;
        try (Stream<String> lines = Files.lines(documents)) {
            blick = lines.filter(l -> l.contains("\"sticker-blick-")).toList();
        }
        assertThat(blick).hasSize(18);
        Files.write(documents, blick);
        Path bank = model.resolve(RetrievalMixin.DEFAULT_BANK);
        // the bank as it was before the documents changed (a time in the future for them would rebuild it every run)
        Files.setLastModifiedTime(bank, FileTime.fromMillis(Files.getLastModifiedTime(documents).toMillis() - 10_000));

        CliRun kept = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--keep-near-copies", "--greedy", "-o", dir.resolve("b.png").toString());
        assertThat(kept.exit()).as(kept.err()).isZero();
        try (LuceneMemoryBank b = LuceneMemoryBank.openReadOnly(bank)) {
            assertThat(b.size()).isEqualTo(18);
        }
        try (Stream<Path> siblings = Files.list(model)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".stale-") || n.contains(".partial-"));
        }
        assertThat(kept.out()).contains(": a large blick at the top left");

        CliRun dropped = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--keep-near-copies=false", "--greedy", "-o", dir.resolve("c.png").toString());
        assertThat(dropped.exit()).as(dropped.err()).isZero();
        assertThat(dropped.out()).contains("retrieved sticker-blick-").doesNotContain(": a large blick at the top left");
    }

    @Test
    void pairsThatCannotBeIngestedLeaveNoBankBehind() throws IOException {
        Path model = freshDemoCopy();
        Files.writeString(model.resolve(RetrievalMixin.SHIPPED_DOCUMENTS), """
                {"id": "x", "caption": "a large blick at the top left", "image": "images/missing.png"}
                """);
        CliRun r = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--greedy", "-o", dir.resolve("c.png").toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("cannot build the memory bank").contains("no document could be added");
        try (Stream<Path> siblings = Files.list(model)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(RetrievalMixin.DEFAULT_BANK));
        }
        assertThat(dir.resolve("c.png")).doesNotExist();
    }

    /**
     * The demo model says in {@code memory/retrieval.json} that its own bank keeps near-copies (its captions are the
     * prompts' words): plain {@code --retrieve 1} finds the document that matches the prompt; without the file, or
     * with another bank, the library's rule (drop them) holds.
     */
    @Test
    void theModelsOwnBankKeepsNearCopiesWhenItsFolderSaysSo() throws IOException {
        Path model = freshDemoCopy();
        assertThat(RetrievalMixin.shippedKeepsNearCopies(model.resolve(RetrievalMixin.SHIPPED_RETRIEVAL))).isTrue();
        CliRun plain = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--greedy", "-o", dir.resolve("a.png").toString());
        assertThat(plain.exit()).as(plain.err()).isZero();
        assertThat(plain.out()).contains(": a large blick at the top left");

        Files.delete(model.resolve(RetrievalMixin.SHIPPED_RETRIEVAL));
        CliRun without = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                "--greedy", "-o", dir.resolve("b.png").toString());
        assertThat(without.exit()).as(without.err()).isZero();
        assertThat(without.out()).contains("retrieved ").doesNotContain(": a large blick at the top left");
    }

    @Test
    void aMalformedRetrievalFileIsAnErrorNamingItsField() throws IOException {
        Path model = freshDemoCopy();
        Path file = model.resolve(RetrievalMixin.SHIPPED_RETRIEVAL);
        for (String text : new String[]{"{\"keep_near_copies\": \"yes\"}", "[true]", "{}", "{\"keep_near_copies\": tru"}) {
            Files.writeString(file, text);
            CliRun run = CliRun.of("text-to-image", "a large blick at the top left", "--model", model.toString(), "--retrieve", "1",
                    "--greedy", "-o", dir.resolve("a.png").toString());
            assertThat(run.exit()).as(text).isNotZero();
            assertThat(run.err()).as(text).contains("retrieval.json");
            if (!text.endsWith("tru")) assertThat(run.err()).as(text).contains("keep_near_copies");
            assertThat(dir.resolve("a.png")).as(text).doesNotExist();
            assertThat(model.resolve(RetrievalMixin.DEFAULT_BANK)).as("nothing built before the file is read").doesNotExist();
        }
        Files.writeString(file, "{\"keep_near_copies\": false}");
        assertThat(RetrievalMixin.shippedKeepsNearCopies(file)).isFalse();
    }
}
