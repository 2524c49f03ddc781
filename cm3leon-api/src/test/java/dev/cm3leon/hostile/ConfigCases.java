package dev.cm3leon.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * Checkpoint folders whose {@code config.json} is broken field by field (missing, mistyped, out of range,
 * inconsistent with itself or with the tensors), and folders whose tensors do not fit a valid config. Each folder
 * holds the fixture's weights and is loaded whole, so a config that passes its own checks is still tested against
 * what it makes the engine allocate.
 */
final class ConfigCases {
    private static final String CONFIG = "config.json";

    private final Path dir;
    private final Path fixture;
    private final ObjectNode config;
    private final long fixtureDataLength;
    private final List<HostileCase> cases = new ArrayList<>();
    private int folders;

    private ConfigCases(Path dir, Path fixture) {
        this.dir = dir;
        this.fixture = fixture;
        this.config = HostileFiles.readObject(fixture.resolve(CONFIG));
        byte[] weights = HostileFiles.read(fixture.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        this.fixtureDataLength = weights.length - 8L - ByteBuffer.wrap(weights, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    static List<HostileCase> write(Path dir, Path fixture) {
        ConfigCases c = new ConfigCases(dir, fixture);
        c.missingFields();
        c.mistypedFields();
        c.inconsistentHeads();
        c.sizesTheWeightsContradict();
        c.vocabularyMaps();
        c.vqConfigs();
        c.notAConfig();
        c.tensorsThatDoNotFit();
        return c.cases;
    }

    private Path folder(String name, byte[] configBytes) {
        Path folder = dir.resolve(String.format("%03d-", folders++) + name.replaceAll("[^A-Za-z0-9._-]", "_"));
        HostileFiles.write(folder.resolve(CONFIG), configBytes);
        ShardedCases.sparseCopy(fixture.resolve(SafetensorsCheckpoint.SINGLE_FILE), folder.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        return folder;
    }

    private void edit(String name, Consumer<ObjectNode> change, String... mustName) {
        ObjectNode c = config.deepCopy();
        change.accept(c);
        add(name, folder(name, HostileFiles.bytes(c)), mustName);
    }

    private void add(String name, Path folder, String... mustName) {
        List<String> names = new ArrayList<>(List.of(CONFIG));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("config", name, folder, ShardedCases.LOAD, names));
    }

    private void missingFields() {
        for (String f : List.of("model_type", "hidden_size", "num_attention_heads", "vocab_size", "intermediate_size",
                "num_hidden_layers", "vocabulary_map")) {
            edit("no " + f, c -> c.remove(f), "'" + f + "'");
        }
        for (String f : List.of("base_channels", "resolution", "latent_channels", "embed_dim", "num_embeddings")) {
            edit("no vq_config." + f, c -> ((ObjectNode) c.get("vq_config")).remove(f), "'vq_config." + f + "'");
        }
    }

    private void mistypedFields() {
        List<String> ints = List.of("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_key_value_heads", "vocab_size", "max_position_embeddings", "bos_token_id", "eos_token_id",
                "pad_token_id", "head_dim");
        String[] badInts = {"\"64\"", "64.5", "true", "[64]", "{\"value\":64}", "-1", "2147483648", "1e300"};
        for (String f : ints) {
            for (String v : badInts) {
                // A list of end ids is how newer configs state several; a list of bad ones is still refused.
                String bad = f.equals("eos_token_id") && v.equals("[64]") ? "[2, \"x\"]" : v;
                edit(f + " = " + bad, c -> c.set(f, json(bad)), "'" + f + "'");
            }
        }
        edit("eos_token_id = []", c -> c.set("eos_token_id", json("[]")), "'eos_token_id'");
        edit("eos_token_id = [2, 4000]", c -> c.set("eos_token_id", json("[2, 4000]")), "'eos_token_id'");
        for (String f : List.of("rope_theta", "rms_norm_eps")) {
            for (String v : new String[]{"\"1e-5\"", "-1", "0", "true", "1e400"}) edit(f + " = " + v, c -> c.set(f, json(v)), "'" + f + "'");
        }
        for (String f : List.of("swin_norm", "tie_word_embeddings", "attention_bias", "mlp_bias")) {
            for (String v : new String[]{"\"yes\"", "1"}) edit(f + " = " + v, c -> c.set(f, json(v)), "'" + f + "'");
        }
        edit("attention_bias = true", c -> c.put("attention_bias", true), "'attention_bias'");
        edit("mlp_bias = true", c -> c.put("mlp_bias", true), "'mlp_bias'");
        edit("model_type = 5", c -> c.put("model_type", 5), "'model_type'");
        edit("model_type = gpt9", c -> c.put("model_type", "gpt9"), "'model_type'");
        edit("model_type = []", c -> c.set("model_type", json("[]")), "'model_type'");
        edit("hidden_act = gelu", c -> c.put("hidden_act", "gelu"), "'hidden_act'");
        edit("hidden_act = 1", c -> c.put("hidden_act", 1), "'hidden_act'");
        edit("torch_dtype = 16", c -> c.put("torch_dtype", 16), "'torch_dtype'");
        edit("rope_scaling set", c -> c.set("rope_scaling", json("{\"type\":\"linear\",\"factor\":2}")), "'rope_scaling'");
    }

    private void inconsistentHeads() {
        edit("5 heads for hidden 64", c -> c.put("num_attention_heads", 5), "'num_attention_heads'");
        edit("128 heads for hidden 64", c -> c.put("num_attention_heads", 128), "'num_attention_heads'");
        edit("3 kv heads for 4 heads", c -> c.put("num_key_value_heads", 3), "'num_key_value_heads'");
        edit("8 kv heads for 4 heads", c -> c.put("num_key_value_heads", 8), "'num_key_value_heads'");
        edit("0 kv heads", c -> c.put("num_key_value_heads", 0), "'num_key_value_heads'");
        edit("head_dim 32 for 64 / 4", c -> c.put("head_dim", 32), "'head_dim'");
        edit("odd head dimension", c -> c.put("num_attention_heads", 64).put("num_key_value_heads", 64), "'num_attention_heads'");
        edit("bos outside the vocabulary", c -> c.put("bos_token_id", 128), "'bos_token_id'");
        edit("eos outside the vocabulary", c -> c.put("eos_token_id", 4000), "'eos_token_id'");
        edit("pad outside the vocabulary", c -> c.put("pad_token_id", Integer.MAX_VALUE), "'pad_token_id'");
    }

    /** Sizes a config may hold on its own that the weights, or the engine's memory, then refuse. */
    private void sizesTheWeightsContradict() {
        weights("hidden_size 128", c -> c.put("hidden_size", 128), "model.embed_tokens.weight", "[128, 128]");
        weights("intermediate_size 200", c -> c.put("intermediate_size", 200), "model.layers.0.mlp.gate_proj.weight");
        weights("3 layers for 2 in the file", c -> c.put("num_hidden_layers", 3), "missing tensor 'model.layers.2.");
        weights("a billion layers", c -> c.put("num_hidden_layers", 1_000_000_000), "missing tensor 'model.layers.2.");
        weights("llama with vocab_size 129", c -> c.put("model_type", "llama").put("vocab_size", 129), "model.embed_tokens.weight");
        weights("vocab_size 129", c -> c.put("vocab_size", 129), "model.embed_tokens.weight", "[129, 64]");
        weights("tie_word_embeddings with a hidden size that differs", c -> c.put("tie_word_embeddings", true)
                .put("hidden_size", 32).put("num_attention_heads", 2).put("num_key_value_heads", 1), "model.embed_tokens.weight");
        edit("vocab_size 2^31-1", c -> c.put("vocab_size", Integer.MAX_VALUE), "'vocab_size'");
        edit("vocab_size 2^24 + 1", c -> c.put("vocab_size", (1 << 24) + 1), "'vocab_size'");
        edit("max_position_embeddings 0", c -> c.put("max_position_embeddings", 0), "'max_position_embeddings'");
    }

    /** A config valid on its own that the tensors contradict: the refusal names the folder and the tensor. */
    private void weights(String name, Consumer<ObjectNode> change, String... mustName) {
        ObjectNode c = config.deepCopy();
        change.accept(c);
        Path folder = folder(name, HostileFiles.bytes(c));
        List<String> names = new ArrayList<>(List.of(folder.getFileName().toString()));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("config", name, folder, ShardedCases.LOAD, names));
    }

    private void vocabularyMaps() {
        edit("two tokens with one id", c -> vocab(c).put("txt041", 40), "vocabulary_map", "id 40");
        edit("an id beyond the vocabulary", c -> vocab(c).put("txt127", 500), "vocabulary_map", "500");
        edit("a negative id", c -> vocab(c).put("txt127", -3), "vocabulary_map", "-3");
        edit("an id that is a string", c -> vocab(c).put("txt127", "127"), "vocabulary_map", "'txt127'");
        edit("an id that is fractional", c -> vocab(c).put("txt127", 126.5), "vocabulary_map", "'txt127'");
        edit("an id beyond int", c -> vocab(c).put("txt127", 1L << 40), "vocabulary_map", "'txt127'");
        edit("a map that is a list", c -> c.set("vocabulary_map", json("[[\"<s>\",0]]")), "vocabulary_map");
        edit("an image token with a bad letter", c -> ((ObjectNode) vocab(c).without("txt126")).put("IMGIMGXZ", 126), "vocabulary_map", "IMGIMGXZ");
        edit("an image token too long", c -> ((ObjectNode) vocab(c).without("txt126")).put("IMGIMGBBBBBBBBBBBBZ", 126), "vocabulary_map", "too long");
        edit("codebook index 0 missing", c -> vocab(c).remove("IMGIMGAZ"), "vocabulary_map", "codebook");
        edit("codebook index named twice", c -> ((ObjectNode) vocab(c).without("txt126")).put("IMGIMGAAZ", 126), "vocabulary_map", "codebook index 0");
        edit("vq codebook size differs", c -> vq(c).put("num_embeddings", 64), "'vq_config.num_embeddings'");
    }

    private void vqConfigs() {
        edit("vq_config a list", c -> c.set("vq_config", json("[]")), "'vq_config'");
        edit("channel_multiplier empty", c -> vq(c).set("channel_multiplier", json("[]")), "'vq_config.channel_multiplier'");
        edit("channel_multiplier a string", c -> vq(c).put("channel_multiplier", "1,2"), "'vq_config.channel_multiplier'");
        edit("channel_multiplier with 0", c -> vq(c).set("channel_multiplier", json("[1,0]")), "'vq_config.channel_multiplier'");
        edit("40 levels", c -> vq(c).set("channel_multiplier", json("[" + "1,".repeat(39) + "1]")), "'vq_config.channel_multiplier'");
        edit("33 levels", c -> vq(c).set("channel_multiplier", json("[" + "1,".repeat(32) + "1]")), "'vq_config.channel_multiplier'");
        edit("resolution not divisible", c -> vq(c).put("resolution", 30), "'vq_config.resolution'");
        edit("resolution 2^30", c -> vq(c).put("resolution", 1 << 30), "'vq_config.resolution'");
        edit("double_latent true", c -> vq(c).put("double_latent", true), "'vq_config.double_latent'");
        edit("attn_resolutions a number", c -> vq(c).put("attn_resolutions", 8), "'vq_config.attn_resolutions'");
        edit("num_res_blocks -1", c -> vq(c).put("num_res_blocks", -1), "'vq_config.num_res_blocks'");
    }

    private void notAConfig() {
        byte[] valid = HostileFiles.bytes(config);
        String[][] bad = {{"empty", ""}, {"a list", "[]"}, {"null", "null"}, {"a string", "\"config\""},
                {"unquoted keys", "{hidden_size: 64}"}, {"content after the object", new String(valid, StandardCharsets.UTF_8) + " {}"},
                {"a duplicate field", "{\"hidden_size\":64,\"hidden_size\":64}"},
                {"nesting 10000 deep", "{\"a\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}"}};
        for (String[] b : bad) add("config that is " + b[0], folder("config-" + b[0], b[1].getBytes(StandardCharsets.UTF_8)), "");
        for (int cut : new int[]{1, valid.length / 3, valid.length / 2, valid.length - 2}) {
            add("config cut at " + cut, folder("config-cut-" + cut, Arrays.copyOf(valid, cut)), "not well-formed JSON");
        }
        Path huge = folder("config-huge", new byte[0]);
        HostileFiles.sparse(huge.resolve(CONFIG), "{\"a\":\"".getBytes(StandardCharsets.UTF_8), 3L << 30);
        add("config of 3 GB (sparse)", huge, "bytes");
        Path directory = folder("config-directory", new byte[0]);
        try {
            Files.delete(directory.resolve(CONFIG));
            Files.createDirectory(directory.resolve(CONFIG));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        add("config that is a directory", directory, "");
        Path absent = folder("config-absent", new byte[0]);
        try {
            Files.delete(absent.resolve(CONFIG));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        add("no config", absent, "not found");
    }

    /** A valid config over a file whose tensors do not fit it. */
    private void tensorsThatDoNotFit() {
        tensors("lm_head stored as I32", h -> ((ObjectNode) h.get("lm_head.weight")).put("dtype", "I32"), "lm_head.weight", "I32");
        tensors("q_proj stored as I32", h -> ((ObjectNode) h.get("model.layers.0.self_attn.q_proj.weight")).put("dtype", "I32"),
                "model.layers.0.self_attn.q_proj.weight", "I32");
        tensors("a norm stored as U8", h -> {
            ObjectNode n = (ObjectNode) h.get("model.norm.weight");
            n.put("dtype", "U8").putArray("shape").add(n.get("data_offsets").get(1).asLong() - n.get("data_offsets").get(0).asLong());
        }, "model.norm.weight");
        tensors("embeddings one column short", h -> {
            ObjectNode n = (ObjectNode) h.get("model.embed_tokens.weight");
            long begin = n.get("data_offsets").get(0).asLong();
            n.putArray("shape").add(128).add(63);
            n.putArray("data_offsets").add(begin).add(begin + 128 * 63 * 4);
        }, "model.embed_tokens.weight", "[128, 64]");
        tensors("q_proj stored as F64", h -> {
            ObjectNode n = (ObjectNode) h.get("model.layers.0.self_attn.q_proj.weight");
            n.put("dtype", "F64");
            n.putArray("data_offsets").add(fixtureDataLength).add(fixtureDataLength + 64 * 64 * 8);
        }, "model.layers.0.self_attn.q_proj.weight", "F64");
        tensors("no final norm", h -> h.remove("model.norm.weight"), "model.norm.weight");
        tensors("q_proj a scalar", h -> {
            ObjectNode n = (ObjectNode) h.get("model.layers.1.self_attn.q_proj.weight");
            long begin = n.get("data_offsets").get(0).asLong();
            n.putArray("shape");
            n.putArray("data_offsets").add(begin).add(begin + 4);
        }, "model.layers.1.self_attn.q_proj.weight");
    }

    private void tensors(String name, Consumer<ObjectNode> change, String... mustName) {
        Path folder = folder("tensors-" + name, HostileFiles.bytes(config));
        Path file = folder.resolve(SafetensorsCheckpoint.SINGLE_FILE);
        byte[] bytes = HostileFiles.read(fixture.resolve(SafetensorsCheckpoint.SINGLE_FILE));
        int len = (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        ObjectNode header = HostileFiles.parseObject(Arrays.copyOfRange(bytes, 8, 8 + len));
        change.accept(header);
        try {
            Files.delete(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        HostileFiles.safetensors(file, header, bytes.length - 8L - len + 64 * 64 * 8);
        List<String> names = new ArrayList<>(List.of(folder.getFileName().toString()));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("checkpoint", name, folder, ShardedCases.LOAD, names));
    }

    private static ObjectNode vocab(ObjectNode c) {
        return (ObjectNode) c.get("vocabulary_map");
    }

    private static ObjectNode vq(ObjectNode c) {
        return (ObjectNode) c.get("vq_config");
    }

    private static JsonNode json(String s) {
        try {
            return HostileFiles.JSON.readTree(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
