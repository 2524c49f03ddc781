package dev.cm3leon.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.checkpoint.SafetensorsFile;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;

import static dev.cm3leon.hostile.HostileFiles.safetensors;
import static dev.cm3leon.hostile.HostileFiles.sparse;
import static dev.cm3leon.hostile.HostileFiles.withLength;

/**
 * Single {@code .safetensors} files broken in every part a reader trusts: the length field, the cut, the header's
 * bytes, its JSON, and each field of a tensor entry. Derived from the fixture checkpoint's real header.
 */
final class SafetensorsCases {
    static final HostileCase.Reader OPEN = p -> {
        try (SafetensorsFile ignored = SafetensorsFile.open(p)) {
            // Opening validates the whole header; a hostile file must not get this far.
        }
    };
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private record Entry(String name, long begin, long end) {
        long size() {
            return end - begin;
        }
    }

    private final Path dir;
    private final byte[] original;
    private final int headerLength;
    private final long dataLength;
    private final ObjectNode header;
    private final List<Entry> entries = new ArrayList<>();
    private final List<HostileCase> cases = new ArrayList<>();
    private int files;

    private SafetensorsCases(Path dir, Path fixture) {
        this.dir = dir;
        this.original = HostileFiles.read(fixture);
        this.headerLength = (int) ByteBuffer.wrap(original, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        this.dataLength = original.length - 8L - headerLength;
        this.header = HostileFiles.parseObject(Arrays.copyOfRange(original, 8, 8 + headerLength));
        header.properties().forEach(e -> {
            if (e.getKey().equals("__metadata__")) return;
            JsonNode offsets = e.getValue().get("data_offsets");
            entries.add(new Entry(e.getKey(), offsets.get(0).asLong(), offsets.get(1).asLong()));
        });
    }

    static List<HostileCase> write(Path dir, Path fixture) {
        SafetensorsCases c = new SafetensorsCases(dir, fixture);
        c.lengthField();
        c.truncations();
        c.invalidUtf8();
        c.invalidJson();
        c.entryFields();
        c.perTensor();
        return c.cases;
    }

    private void add(String name, Path file, String... mustName) {
        List<String> names = new ArrayList<>(List.of(file.getFileName().toString()));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("safetensors", name, file, OPEN, names));
    }

    private Path file(String name) {
        return dir.resolve(String.format("%03d-", files++) + name.replaceAll("[^A-Za-z0-9._-]", "_") + ".safetensors");
    }

    private void lengthField() {
        for (int size = 0; size < 8; size++) {
            add("file of " + size + " bytes", sparse(file("short-" + size), new byte[]{1, 2, 3, 4, 5, 6, 7}, size), "8-byte header length");
        }
        byte[] head = Arrays.copyOfRange(original, 8, 8 + headerLength);
        long[] beyond = {original.length - 8L + 1, original.length, 1L << 40, Long.MAX_VALUE};
        for (long declared : beyond) {
            add("header length " + declared + " beyond the file", sparse(file("length-" + declared), withLength(declared, head),
                    original.length), "header length", "does not fit");
        }
        for (long declared : new long[]{0, -1, Long.MIN_VALUE}) {
            add("header length " + declared, sparse(file("length-" + declared), withLength(declared, head), original.length),
                    "header length", "does not fit");
        }
        long limit = SafetensorsFile.MAX_HEADER_BYTES;
        add("header of 100 MB + 1 byte (sparse)", sparse(file("header-over-limit"), withLength(limit + 1, new byte[0]), 8 + limit + 16),
                "header length", "exceeds the limit");
        add("header of 100 MB of zeros (sparse)", sparse(file("header-100mb-zeros"), withLength(limit, new byte[0]), 8 + limit + 16),
                "header");
        add("header of 100 MB: a brace, then zeros (sparse)", sparse(file("header-100mb-brace"), withLength(limit, new byte[]{'{'}),
                8 + limit + 16), "header");
    }

    private void truncations() {
        long[] inHeader = {8, 9, 8 + headerLength / 4, 8 + headerLength / 2, 8 + headerLength - 1};
        for (long cut : inHeader) {
            add("cut at byte " + cut + " (inside the header)", sparse(file("cut-" + cut), original, cut), "does not fit");
        }
        add("cut right after the header", sparse(file("cut-after-header"), original, 8 + headerLength),
                "tensor '" + firstEndingAfter(0) + "'", "fall outside the data section");
        for (Entry e : spread()) {
            long cutData = e.begin() + Math.max(1, e.size() / 2);
            add("cut inside tensor " + e.name(), sparse(file("cut-in-" + e.name()), original, 8 + headerLength + cutData),
                    "tensor '" + firstEndingAfter(cutData) + "'", "fall outside the data section");
        }
    }

    /** The first tensor in header order that a data section of {@code length} bytes cannot hold. */
    private String firstEndingAfter(long length) {
        return entries.stream().filter(e -> e.end() > length).findFirst().orElseThrow().name();
    }

    /** Every tenth tensor: the loader's per-tensor checks, from embeddings to the VQ decoder. */
    private List<Entry> spread() {
        List<Entry> out = new ArrayList<>();
        for (int i = 0; i < entries.size(); i += 10) out.add(entries.get(i));
        return out;
    }

    private void invalidUtf8() {
        byte[] head = Arrays.copyOfRange(original, 8, 8 + headerLength);
        byte[] name = ("\"" + entries.getFirst().name() + "\"").getBytes(StandardCharsets.UTF_8);
        byte[][] bad = {
                {(byte) 0xFF}, {(byte) 0xC3, 0x28}, {(byte) 0x80}, {(byte) 0xC0, (byte) 0xAF},
                {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
                {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80}};
        String[] what = {"0xFF", "a bad continuation", "a lone continuation byte", "an overlong encoding", "an encoded surrogate",
                "a cut 3-byte sequence", "a 5-byte sequence", "a code point beyond U+10FFFF"};
        for (int i = 0; i < bad.length; i++) {
            byte[] with = new byte[name.length + bad[i].length];
            System.arraycopy(name, 0, with, 0, name.length - 1);
            System.arraycopy(bad[i], 0, with, name.length - 1, bad[i].length);
            with[with.length - 1] = '"';
            add("header with " + what[i], safetensors(file("utf8-" + i), HostileFiles.splice(head, name, with), dataLength),
                    "not valid UTF-8");
        }
    }

    private void invalidJson() {
        String valid = "\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}";
        String[][] bad = {
                {"a lone brace", "{"},
                {"a closing brace", "}"},
                {"an array", "[" + valid.substring(4) + "]"},
                {"null", "null"},
                {"a number", "12345678"},
                {"a string", "\"header\""},
                {"a leading space", " {" + valid + "}"},
                {"a missing value", "{\"w\":}"},
                {"single quotes", "{'w':{'dtype':'F32','shape':[4],'data_offsets':[0,16]}}"},
                {"unquoted keys", "{w:{dtype:\"F32\",shape:[4],data_offsets:[0,16]}}"},
                {"a trailing comma", "{" + valid + ",}"},
                {"content after the object", "{" + valid + "} {}"},
                {"NaN", "{\"w\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,16]}}"},
                {"a comment", "{/* tensors */" + valid + "}"},
                {"a duplicate tensor", "{" + valid + "," + valid + "}"},
                {"nesting 10000 deep", "{\"w\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}"},
                {"an unterminated string", "{\"w"},
                {"a control character in a name", "{\"w\u0001\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}"}};
        for (String[] b : bad) {
            add("header that is " + b[0], safetensors(file("json-" + b[0]), b[1].getBytes(StandardCharsets.UTF_8), 16), "header");
        }
    }

    /** The first tensor's entry with one field broken. */
    private void entryFields() {
        String t = entries.getFirst().name();
        JsonNode[] dtypes = {text("F8_E4M3"), text("f32"), text(""), NODES.numberNode(7), NODES.nullNode(), text("FLOAT64"),
                text("BF16 ")};
        for (JsonNode d : dtypes) {
            add("dtype " + d, mutated("dtype-" + d, t, e -> e.set("dtype", d)), "tensor '" + t + "'", "dtype");
        }
        String[][] shapes = {{"[-4]", "shape[0]"}, {"[4611686018427387904,4611686018427387904]", "too large"},
                {"[\"64\"]", "shape[0]"}, {"[2.5]", "shape[0]"}, {"[1e30]", "shape[0]"}, {"{}", "'shape'"}, {"null", "'shape'"},
                {"[[2]]", "shape[0]"}, {"[9223372036854775808]", "shape[0]"}, {"\"128,64\"", "'shape'"}};
        for (String[] s : shapes) {
            add("shape " + s[0], mutated("shape-" + s[0], t, e -> e.set("shape", json(s[0]))), "tensor '" + t + "'", s[1]);
        }
        add("no shape", mutated("shape-missing", t, e -> e.remove("shape")), "tensor '" + t + "'", "'shape'");
        Entry first = entries.getFirst();
        String[] offsets = {"[0]", "[0,1,2]", "[\"0\",\"4\"]", "[0.0," + first.size() + ".0]", "[0,18446744073709551616]", "{}", "null"};
        for (String o : offsets) {
            add("data_offsets " + o, mutated("offsets-" + o, t, e -> e.set("data_offsets", json(o))), "tensor '" + t + "'", "data_offsets");
        }
        add("no data_offsets", mutated("offsets-missing", t, e -> e.remove("data_offsets")), "tensor '" + t + "'", "data_offsets");
        add("negative begin", mutated("offsets-negative", t, e -> e.set("data_offsets", json("[-4," + (first.size() - 4) + "]"))),
                "tensor '" + t + "'", "data_offsets");
        add("begin after end", mutated("offsets-reversed", t, e -> e.set("data_offsets", json("[" + first.end() + "," + first.begin() + "]"))),
                "tensor '" + t + "'", "data_offsets");
        for (String entry : new String[]{"[]", "\"F32\"", "5", "null", "true"}) {
            ObjectNode h = header.deepCopy();
            h.set(t, json(entry));
            add("entry " + entry, safetensors(file("entry-" + entry), h, dataLength), "tensor '" + t + "'", "must be an object");
        }
        String[][] metadata = {{"[]", "__metadata__ must be an object"}, {"{\"format\":1}", "__metadata__.format must be a string"},
                {"{\"format\":{\"a\":\"b\"}}", "__metadata__.format must be a string"}, {"\"pt\"", "__metadata__ must be an object"}};
        for (String[] m : metadata) {
            ObjectNode h = header.deepCopy();
            h.set("__metadata__", json(m[0]));
            add("__metadata__ " + m[0], safetensors(file("metadata-" + m[0]), h, dataLength), m[1]);
        }
    }

    /** Shape, range and overlap defects placed on tensors across the whole file. */
    private void perTensor() {
        List<Entry> byBegin = new ArrayList<>(entries);
        byBegin.sort(Comparator.comparingLong(Entry::begin));
        for (Entry e : spread()) {
            add("shape of " + e.name() + " one row longer", mutated("rows-" + e.name(), e.name(), n -> {
                ArrayNode shape = (ArrayNode) n.get("shape");
                if (shape.isEmpty()) shape.add(2);
                else shape.set(0, NODES.numberNode(shape.get(0).asLong() + 1));
            }), "tensor '" + e.name() + "'", "data_offsets span");
            add("range of " + e.name() + " past the end", mutated("past-" + e.name(), e.name(), n -> n.set("data_offsets",
                    offsets(dataLength - e.size() + 8, dataLength + 8))), "tensor '" + e.name() + "'", "fall outside the data section");
            int at = byBegin.indexOf(e);
            Entry other = byBegin.get(at == 0 ? 1 : at - 1);
            if (other.begin() + e.size() > dataLength) other = byBegin.getFirst();
            long begin = other.begin();
            add(e.name() + " overlapping " + other.name(), mutated("overlap-" + e.name(), e.name(), n -> n.set("data_offsets",
                    offsets(begin, begin + e.size()))), e.name(), "overlap");
        }
    }

    private Path mutated(String fileName, String tensor, Consumer<ObjectNode> change) {
        ObjectNode h = header.deepCopy();
        change.accept((ObjectNode) h.get(tensor));
        return safetensors(file(fileName), h, dataLength);
    }

    private static ArrayNode offsets(long begin, long end) {
        return NODES.arrayNode().add(begin).add(end);
    }

    private static JsonNode text(String s) {
        return NODES.textNode(s);
    }

    private static JsonNode json(String s) {
        try {
            return HostileFiles.JSON.readTree(s);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
