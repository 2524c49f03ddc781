package dev.cm3leon.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.tokenizer.TextTokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;

/**
 * {@code tokenizer.json} files derived from the fixture tokenizers: cut at many points, fields of the wrong type,
 * components this library does not implement, merges that cannot be applied, and inputs far larger than any real
 * tokenizer (including a gzip bomb).
 */
final class TokenizerCases {
    static final HostileCase.Reader LOAD = p -> TextTokenizer.load(p);

    private final Path dir;
    private final Path fixtures;
    private final ObjectNode base;
    private final List<HostileCase> cases = new ArrayList<>();
    private int files;

    private TokenizerCases(Path dir, Path fixtures) {
        this.dir = dir;
        this.fixtures = fixtures;
        this.base = HostileFiles.readObject(fixtures.resolve("chameleon_like.tokenizer.json"));
    }

    static List<HostileCase> write(Path dir, Path fixtures) {
        TokenizerCases c = new TokenizerCases(dir, fixtures);
        c.truncations();
        c.compressed();
        c.mistypedFields();
        c.unknownComponents();
        c.badMerges();
        c.hugeInputs();
        return c.cases;
    }

    private Path file(String name, String suffix) {
        return dir.resolve(String.format("%03d-", files++) + name.replaceAll("[^A-Za-z0-9._-]", "_") + suffix);
    }

    private void add(String name, Path file, String... mustName) {
        List<String> names = new ArrayList<>(List.of(file.getFileName().toString()));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("tokenizer", name, file, LOAD, names));
    }

    private void edit(String name, Consumer<ObjectNode> change, String... mustName) {
        ObjectNode t = base.deepCopy();
        change.accept(t);
        add(name, HostileFiles.write(file(name, ".tokenizer.json"), t), mustName);
    }

    private void raw(String name, String json, String... mustName) {
        add(name, HostileFiles.write(file(name, ".tokenizer.json"), json.getBytes(StandardCharsets.UTF_8)), mustName);
    }

    private void truncations() {
        for (String fixture : List.of("chameleon_like", "spm_like", "gpt2")) {
            byte[] whole = HostileFiles.read(fixtures.resolve(fixture + ".tokenizer.json"));
            int cuts = fixture.equals("gpt2") ? 3 : 10;
            for (int i = 0; i < cuts; i++) {
                int cut = (int) ((long) whole.length * (2 * i + 1) / (2L * cuts));
                add(fixture + " cut at " + cut, HostileFiles.write(file(fixture + "-cut-" + cut, ".tokenizer.json"),
                        Arrays.copyOf(whole, cut)), "malformed JSON");
            }
        }
        add("empty file", HostileFiles.write(file("empty", ".tokenizer.json"), new byte[0]), "");
    }

    private void compressed() {
        byte[] gz = HostileFiles.read(fixtures.resolve("qwen3.tokenizer.json.gz"));
        for (int cut : new int[]{10, gz.length / 2, gz.length - 4}) {
            add("qwen3 gzip cut at " + cut, HostileFiles.write(file("qwen3-cut-" + cut, ".tokenizer.json.gz"),
                    Arrays.copyOf(gz, cut)), "gzip");
        }
        byte[] garbage = Arrays.copyOf(gz, 4096);
        for (int i = 20; i < garbage.length; i += 7) garbage[i] ^= 0x5A;
        add("gzip with a corrupt stream", HostileFiles.write(file("gzip-corrupt", ".tokenizer.json.gz"), garbage), "gzip");
        add("gzip bomb (spaces, 160 MB inflated)", HostileFiles.write(file("gzip-bomb", ".tokenizer.json.gz"), bomb()), "bytes");
    }

    /** Concatenated gzip members of spaces (valid JSON whitespace): small on disk, larger than any tokenizer inflated. */
    private static byte[] bomb() {
        ByteArrayOutputStream member = new ByteArrayOutputStream();
        try (OutputStream out = new GZIPOutputStream(member)) {
            byte[] spaces = new byte[1 << 20];
            Arrays.fill(spaces, (byte) ' ');
            for (int i = 0; i < 32; i++) out.write(spaces);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < 5; i++) all.writeBytes(member.toByteArray());
        return all.toByteArray();
    }

    private void mistypedFields() {
        edit("model a list", t -> t.set("model", json("[]")), "model");
        edit("model a string", t -> t.put("model", "BPE"), "model");
        edit("model null", t -> t.putNull("model"), "model is missing");
        edit("model.type a number", t -> model(t).put("type", 5), "model.type");
        edit("model.vocab a list", t -> model(t).set("vocab", json("[]")), "model.vocab");
        edit("model.vocab a string", t -> model(t).put("vocab", "x"), "model.vocab");
        edit("model.merges an object", t -> model(t).set("merges", json("{}")), "model.merges");
        edit("model.merges a string", t -> model(t).put("merges", "Ġ t"), "model.merges");
        for (String id : new String[]{"\"5\"", "-1", "2.5", "16777216", "1099511627776", "null", "[]"}) {
            edit("vocab id " + id, t -> vocab(t).set("Ġt", json(id)), "model.vocab['Ġt']");
        }
        edit("unk_token a number", t -> model(t).put("unk_token", 5), "model.unk_token");
        edit("fuse_unk a string", t -> model(t).put("fuse_unk", "yes"), "model.fuse_unk");
        edit("byte_fallback a number", t -> model(t).put("byte_fallback", 1), "model.byte_fallback");
        edit("continuing_subword_prefix a number", t -> model(t).put("continuing_subword_prefix", 5), "model.continuing_subword_prefix");
        String[][] added = {
                {"{}", "added_tokens"}, {"[5]", "added_tokens[0]"}, {"[{\"content\":5,\"id\":0}]", "added_tokens[0].content"},
                {"[{\"content\":\"<x>\",\"id\":-1}]", "added_tokens[0].id"}, {"[{\"content\":\"<x>\"}]", "added_tokens[0].id"},
                {"[{\"content\":\"<x>\",\"id\":\"7\"}]", "added_tokens[0].id"}, {"[{\"content\":\"<x>\",\"id\":16777216}]", "added_tokens[0].id"},
                {"[{\"content\":\"<x>\",\"id\":700,\"special\":\"yes\"}]", "added_tokens[0].special"}, {"[{\"id\":0}]", "added_tokens[0].content"},
                {"[{\"content\":\"<x>\",\"id\":700,\"lstrip\":1}]", "added_tokens[0].lstrip"}};
        for (String[] a : added) edit("added_tokens " + a[0], t -> t.set("added_tokens", json(a[0])), a[1]);
        String[][] components = {
                {"normalizer", "5"}, {"normalizer", "\"NFC\""}, {"normalizer", "{\"type\":5}"}, {"normalizer", "{}"},
                {"normalizer", "{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(\"},\"content\":\"\"}"},
                {"pre_tokenizer", "[]"}, {"pre_tokenizer", "{\"type\":\"Split\"}"},
                {"pre_tokenizer", "{\"type\":\"Split\",\"pattern\":{\"Regex\":5},\"behavior\":\"Isolated\",\"invert\":false}"},
                {"pre_tokenizer", "{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(a\"},\"behavior\":\"Isolated\",\"invert\":false}"},
                {"pre_tokenizer", "{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},\"behavior\":\"Sideways\",\"invert\":false}"},
                {"pre_tokenizer", "{\"type\":\"Metaspace\",\"replacement\":\"ab\"}"},
                {"pre_tokenizer", "{\"type\":\"Sequence\",\"pretokenizers\":5}"},
                {"pre_tokenizer", "{\"type\":\"ByteLevel\",\"add_prefix_space\":\"yes\"}"},
                {"post_processor", "{\"type\":\"TemplateProcessing\",\"single\":5,\"pair\":[],\"special_tokens\":{}}"},
                {"post_processor", "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<bos>\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{}}"},
                {"post_processor", "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[-1],\"tokens\":[\"<s>\"]}}}"},
                {"post_processor", "{\"type\":\"TemplateProcessing\",\"single\":[{\"Sequence\":{\"id\":\"C\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{}}"},
                {"decoder", "{\"type\":\"Replace\",\"pattern\":{\"Foo\":\"x\"},\"content\":\" \"}"},
                {"decoder", "{\"type\":\"Strip\",\"content\":\"ab\",\"start\":1,\"stop\":0}"},
                {"decoder", "{\"type\":\"Sequence\",\"decoders\":{}}"},
                {"decoder", "[]"}};
        for (String[] c : components) edit(c[0] + " " + c[1], t -> t.set(c[0], json(c[1])), c[0]);
        edit("version 2 (a number)", t -> t.put("version", 2), "version");
        edit("version 2.0", t -> t.put("version", "2.0"), "version");
        raw("top level a list", "[]", "top level");
    }

    private void unknownComponents() {
        for (String where : List.of("normalizer", "pre_tokenizer", "post_processor", "decoder")) {
            edit(where + " type Foo", t -> t.set(where, json("{\"type\":\"Foo\"}")), where, "'Foo'");
        }
        edit("Foo inside a normalizer Sequence", t -> t.set("normalizer", json("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Foo\"}]}")),
                "normalizer.normalizers[1]", "'Foo'");
        edit("Foo inside a pre_tokenizer Sequence", t -> t.set("pre_tokenizer", json("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\"},{\"type\":\"Foo\"}]}")),
                "pre_tokenizer.pretokenizers[1]", "'Foo'");
        edit("Foo inside a decoder Sequence", t -> t.set("decoder", json("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Fuse\"},{\"type\":\"Foo\"}]}")),
                "decoder.decoders[1]", "'Foo'");
        for (String type : List.of("Unigram", "WordPiece", "WordLevel")) {
            edit("model type " + type, t -> model(t).put("type", type), "model type '" + type + "'");
        }
    }

    private void badMerges() {
        String[][] merges = {{"\"Ġ t a\""}, {"\"Ġt\""}, {"5"}, {"[\"Ġ\"]"}, {"[\"Ġ\",\"t\",\"a\"]"}, {"[1,2]"}, {"\"Ġ zzz\""},
                {"\"t Ġ\""}, {"null"}, {"{}"}};
        for (String[] m : merges) {
            edit("merge " + m[0], t -> ((com.fasterxml.jackson.databind.node.ArrayNode) model(t).get("merges")).insert(0, json(m[0])),
                    "model.merges[0]");
        }
    }

    private void hugeInputs() {
        Path huge = file("3-gb-sparse", ".tokenizer.json");
        HostileFiles.sparse(huge, "{\"model\":{\"vocab\":{\"".getBytes(StandardCharsets.UTF_8), 3L << 30);
        add("a 3 GB file (sparse)", huge, "bytes");
        byte[] longToken = ("{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{\"" + "a".repeat(30 << 20) + "\":0},\"merges\":[]}}")
                .getBytes(StandardCharsets.UTF_8);
        add("a 30 MB token", HostileFiles.write(file("30-mb-token", ".tokenizer.json"), longToken), "malformed JSON");
        raw("nesting 10000 deep", "{\"version\":\"1.0\",\"normalizer\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}",
                "malformed JSON");
        raw("a 5000-digit id", "{\"version\":\"1.0\",\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":" + "9".repeat(5000)
                + "},\"merges\":[]}}", "malformed JSON");
    }

    private static ObjectNode model(ObjectNode t) {
        return (ObjectNode) t.get("model");
    }

    private static ObjectNode vocab(ObjectNode t) {
        return (ObjectNode) model(t).get("vocab");
    }

    private static JsonNode json(String s) {
        try {
            return HostileFiles.JSON.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
