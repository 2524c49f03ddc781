package dev.cm3leon.checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The architecture of a checkpoint in Meta's original layout: {@code params.json} (its settings at the top level or
 * under {@code "model"}) merged with {@code consolidate_params.json}, the later file winning, as Meta's loader merges
 * them. The fields are those of Meta's {@code ModelArgs}; others (training settings) are ignored.
 *
 * @param modelParallelSize how many {@code consolidated.NN.pth} shards split every matrix
 * @param intermediateSize  Meta's rule: {@code 8·dim/3}, times {@code ffn_dim_multiplier}, rounded up to
 *                          {@code multiple_of}
 * @param maxPositions      {@code max_seq_len} if given, else HF's converter's choice (4096, or 16384 when
 *                          {@code rope_theta} exceeds 10000)
 */
public record MetaParams(Path file, int dim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                         int intermediateSize, double normEps, double ropeTheta, boolean qkNormalization,
                         boolean swinNorm, int modelParallelSize, int maxPositions) {
    public static final String PARAMS = "params.json";
    public static final String CONSOLIDATE_PARAMS = "consolidate_params.json";

    public int headDim() {
        return dim / nHeads;
    }

    /** Reads {@code params.json} (required) and {@code consolidate_params.json} (optional) of {@code modelDir}. */
    public static MetaParams read(Path modelDir) {
        Path params = modelDir.resolve(PARAMS);
        if (!Files.isRegularFile(params)) {
            throw CheckpointException.of(params, "is missing; Meta's layout keeps the architecture there, beside consolidated.pth");
        }
        // Lookup order = precedence: consolidate_params.json, then params.json's "model", then its top level.
        List<ConfigReader> readers = new ArrayList<>();
        Path consolidate = modelDir.resolve(CONSOLIDATE_PARAMS);
        if (Files.isRegularFile(consolidate)) readers.add(ConfigReader.read(consolidate));
        ConfigReader top = ConfigReader.read(params);
        if (top.has("model")) readers.add(top.object("model"));
        readers.add(top);
        Fields f = new Fields(readers);

        int dim = f.in("dim").requireInt("dim", 1);
        int heads = f.in("n_heads").requireInt("n_heads", 1);
        int kvHeads = f.has("n_kv_heads") ? f.in("n_kv_heads").requireInt("n_kv_heads", 1) : heads;
        if (dim % heads != 0) throw f.in("n_heads").error("n_heads", "(" + heads + ") must divide dim (" + dim + ")");
        if (heads % kvHeads != 0) {
            throw f.in("n_kv_heads").error("n_kv_heads", "(" + kvHeads + ") must divide n_heads (" + heads + ")");
        }
        if ((dim / heads) % 2 != 0) throw f.in("n_heads").error("n_heads", "gives an odd head dimension; RoPE needs it even");
        int vocab = f.in("vocab_size").requireInt("vocab_size", 1);
        if (vocab > ModelConfig.MAX_VOCAB_SIZE) throw f.in("vocab_size").error("vocab_size", "(" + vocab + ") is too large");
        int multipleOf = f.has("multiple_of") ? f.in("multiple_of").requireInt("multiple_of", 1) : 256;
        double multiplier = f.has("ffn_dim_multiplier") ? f.in("ffn_dim_multiplier").requirePositiveDouble("ffn_dim_multiplier") : 1.0;
        long hidden = (long) (multiplier * (int) (8L * dim / 3));
        long intermediate = (hidden + multipleOf - 1) / multipleOf * multipleOf;
        if (intermediate > Integer.MAX_VALUE) throw f.in("dim").error("ffn_dim_multiplier", "gives a feed-forward size that is too large");
        double theta = f.has("rope_theta") ? f.in("rope_theta").requirePositiveDouble("rope_theta") : 10000.0;
        int mp = f.has("model_parallel_size") ? f.in("model_parallel_size").requireInt("model_parallel_size", 1) : 1;
        // Each shard holds a slice of every split dimension.
        Map<String, Long> split = new LinkedHashMap<>();
        split.put("n_heads", (long) heads);
        split.put("n_kv_heads", (long) kvHeads);
        split.put("dim", (long) dim);
        split.put("vocab_size", (long) vocab);
        split.put("the feed-forward size", intermediate);
        for (var e : split.entrySet()) {
            if (e.getValue() % mp != 0) {
                throw f.in("model_parallel_size").error("model_parallel_size", "(" + mp + ") must divide " + e.getKey()
                        + " (" + e.getValue() + ")");
            }
        }
        int maxPositions = f.has("max_seq_len") ? f.in("max_seq_len").requireInt("max_seq_len", 1) : theta > 10000.0 ? 16384 : 4096;
        return new MetaParams(params, dim, f.in("n_layers").requireInt("n_layers", 1), heads, kvHeads, vocab,
                (int) intermediate, f.has("norm_eps") ? f.in("norm_eps").requirePositiveDouble("norm_eps") : 1e-5, theta,
                f.in("qk_normalization").optBoolean("qk_normalization", false),
                f.in("swin_norm").optBoolean("swin_norm", false), mp, maxPositions);
    }

    /** The first reader that has a field answers for it (and names its own file in errors). */
    private record Fields(List<ConfigReader> readers) {
        boolean has(String field) {
            return readers.stream().anyMatch(r -> r.has(field));
        }

        ConfigReader in(String field) {
            return readers.stream().filter(r -> r.has(field)).findFirst().orElse(readers.getLast());
        }
    }
}
