package dev.cm3leon.hostile;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cm3leon.Cm3Leon;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;

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
import java.util.function.Consumer;

/**
 * Sharded checkpoint folders whose index lies: shards that are missing, that escape the folder by name or by link,
 * tensors in two shards or in the wrong one, and indexes that are not what they claim. Each folder is loaded whole.
 */
final class ShardedCases {
    static final HostileCase.Reader LOAD = p -> {
        try (Cm3Leon ignored = Cm3Leon.load(p)) {
            // A hostile folder must not load.
        }
    };
    static final String SHARD_1 = "model-00001-of-00002.safetensors";
    static final String SHARD_2 = "model-00002-of-00002.safetensors";

    private final Path dir;
    private final Path fixture;
    private final ObjectNode index;
    private final Path outside;
    private final List<HostileCase> cases = new ArrayList<>();
    private int folders;

    private ShardedCases(Path dir, Path fixture) {
        this.dir = dir;
        this.fixture = fixture;
        this.index = HostileFiles.readObject(fixture.resolve(SafetensorsCheckpoint.INDEX_FILE));
        // A valid shard outside every case folder: reaching it would mean the loader left the checkpoint.
        this.outside = sparseCopy(fixture.resolve(SHARD_2), dir.resolve("outside.safetensors"));
    }

    static List<HostileCase> write(Path dir, Path fixture) {
        ShardedCases c = new ShardedCases(dir, fixture);
        c.escapes();
        c.inconsistentShards();
        c.brokenIndexes();
        return c.cases;
    }

    /** A folder like the fixture's, with the index's weight_map changed. */
    private Path folder(String name, Consumer<ObjectNode> weightMap) {
        Path folder = dir.resolve(String.format("%02d-", folders++) + name.replaceAll("[^A-Za-z0-9._-]", "_"));
        try {
            Files.createDirectories(folder);
            Files.copy(fixture.resolve("config.json"), folder.resolve("config.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        sparseCopy(fixture.resolve(SHARD_1), folder.resolve(SHARD_1));
        sparseCopy(fixture.resolve(SHARD_2), folder.resolve(SHARD_2));
        ObjectNode ix = index.deepCopy();
        weightMap.accept((ObjectNode) ix.get("weight_map"));
        HostileFiles.write(folder.resolve(SafetensorsCheckpoint.INDEX_FILE), ix);
        return folder;
    }

    private void add(String name, Path folder, String... mustName) {
        cases.add(new HostileCase("sharded", name, folder, LOAD, List.of(mustName)));
    }

    private static final String INDEX = SafetensorsCheckpoint.INDEX_FILE;

    private void escapes() {
        String[][] names = {
                {"../outside.safetensors", "escapes the checkpoint folder"},
                {outside.toString(), "escapes the checkpoint folder"},
                {"sub/../../outside.safetensors", "escapes the checkpoint folder"},
                {"./../outside.safetensors", "escapes the checkpoint folder"},
                {"..", "escapes the checkpoint folder"},
                {"../../../../../../../../etc/passwd", "escapes the checkpoint folder"},
                {"/dev/zero", "escapes the checkpoint folder"},
                {"/proc/self/mem", "escapes the checkpoint folder"},
                {"", "is not a file name"},
                {"model\u0000.safetensors", "is not a file name"},
                {".", "is missing"},
                {"model-00003-of-00002.safetensors", "is missing"},
                {"..\\outside.safetensors", "is missing"},
                {"file:///etc/passwd", "is missing"},
                {"x".repeat(5000) + ".safetensors", "is missing"}};
        for (String[] n : names) {
            add("shard named '" + abbreviate(n[0]) + "'", folder("shard-" + abbreviate(n[0]), m -> m.put("lm_head.weight", n[0])),
                    INDEX, n[1]);
        }
        Path linked = folder("shard-symlink-outside", m -> m.put("lm_head.weight", "linked.safetensors"));
        Path sub = folder("shard-directory", m -> m.put("lm_head.weight", "sub"));
        try {
            Files.createSymbolicLink(linked.resolve("linked.safetensors"), outside);
            Files.createDirectories(sub.resolve("sub"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        add("shard that is a link out of the folder", linked, INDEX, "links outside the checkpoint folder");
        add("shard that is a directory", sub, INDEX, "'sub' is missing");
    }

    private void inconsistentShards() {
        Path twice = folder("tensor-in-two-shards", m -> { });
        rewriteShardWithExtraTensor(twice.resolve(SHARD_2), "lm_head.weight");
        add("a tensor in two shards", twice, SHARD_2, "tensor 'lm_head.weight' also appears in another shard");
        add("a tensor listed in the wrong shard", folder("wrong-shard", m -> m.put("lm_head.weight", SHARD_2)),
                INDEX, "'lm_head.weight'", SHARD_2);
        add("a tensor no shard holds", folder("absent-tensor", m -> m.put("model.layers.9.mlp.up_proj.weight", SHARD_1)),
                INDEX, "'model.layers.9.mlp.up_proj.weight'");
        add("an empty weight_map", folder("empty-weight-map", ObjectNode::removeAll), "missing tensor 'model.embed_tokens.weight'");
        Path truncated = folder("truncated-shard", m -> { });
        HostileFiles.sparse(truncated.resolve(SHARD_1), HostileFiles.read(fixture.resolve(SHARD_1)), 100);
        add("a shard cut inside its header", truncated, SHARD_1, "does not fit");
        Path broken = folder("broken-shard-header", m -> { });
        byte[] shard = HostileFiles.read(fixture.resolve(SHARD_2));
        shard[8 + 1] = '!';
        HostileFiles.write(broken.resolve(SHARD_2), shard);
        add("a shard whose header is not JSON", broken, SHARD_2, "not well-formed JSON");
    }

    private void brokenIndexes() {
        String[][] bad = {
                {"not JSON", "{\"weight_map\": {", "not well-formed JSON"},
                {"an array", "[]", "weight_map"},
                {"without weight_map", "{\"metadata\":{}}", "weight_map"},
                {"a weight_map array", "{\"weight_map\":[]}", "weight_map"},
                {"a shard name that is a number", "{\"weight_map\":{\"lm_head.weight\":5}}", "weight_map.lm_head.weight"},
                {"a shard name that is null", "{\"weight_map\":{\"lm_head.weight\":null}}", "weight_map.lm_head.weight"},
                {"a duplicate tensor", "{\"weight_map\":{\"a\":\"" + SHARD_1 + "\",\"a\":\"" + SHARD_1 + "\"}}", "not well-formed JSON"},
                {"content after the object", "{\"weight_map\":{}} []", "not well-formed JSON"},
                {"empty", "", "weight_map"}};
        for (String[] b : bad) {
            Path folder = folder("index-" + b[0], m -> { });
            HostileFiles.write(folder.resolve(INDEX), b[1].getBytes(StandardCharsets.UTF_8));
            add("an index that is " + b[0], folder, INDEX, b[2]);
        }
        Path huge = folder("index-huge", m -> { });
        HostileFiles.sparse(huge.resolve(INDEX), "{\"weight_map\":{\"a\":\"".getBytes(StandardCharsets.UTF_8), 3L << 30);
        add("an index of 3 GB (sparse)", huge, INDEX, "bytes");
    }

    private void rewriteShardWithExtraTensor(Path shard, String tensor) {
        byte[] bytes = HostileFiles.read(shard);
        int len = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = HostileFiles.parseObject(Arrays.copyOfRange(bytes, 8, 8 + len));
        long data = bytes.length - 8L - len;
        ObjectNode entry = header.putObject(tensor);
        entry.put("dtype", "BF16").putArray("shape").add(2);
        entry.putArray("data_offsets").add(data).add(data + 4);
        HostileFiles.safetensors(shard, header, data + 4);
    }

    /** The shard's real header over a sparse data section: a valid file that costs no disk. */
    static Path sparseCopy(Path from, Path to) {
        byte[] bytes = HostileFiles.read(from);
        int len = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return HostileFiles.sparse(to, Arrays.copyOf(bytes, 8 + len), bytes.length);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 12) + "…(" + s.length() + " chars)" : s;
    }
}
