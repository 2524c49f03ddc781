package dev.cm3leon.checkpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The decoder's tensors of a checkpoint in Meta's original layout ({@code consolidated.pth}, or the model-parallel
 * {@code consolidated.00.pth … NN.pth}), seen under HF's names so the same engine runs them.
 *
 * <p>Two conventions differ from HF's, and HF's converter rewrites both; here neither is rewritten. Meta's query and
 * key rows are in RoPE's interleaved-pair order: the config says so ({@link ModelConfig#interleavedRope}) and the
 * engine rotates adjacent pairs, so the matrices stay views of the mapped file. Meta's QK-norm is one
 * {@code [head_dim]} LayerNorm per shard, shared by that shard's heads: it is repeated per head (a few KiB), in the
 * same interleaved order as the rows it normalises.
 *
 * <p>A model-parallel checkpoint splits every matrix across its shards (by rows for q, k, v, w1, w3 and the output
 * head, by columns for wo, w2 and the embeddings), and each norm is replicated. No single view can serve such a
 * matrix, so the shards are joined once, into native memory (not the Java heap) owned by this object, in the order
 * HF's converter joins them; replicated norms become their mean, as there.
 */
public final class MetaCheckpoint implements TensorSource {
    private static final Logger LOG = LoggerFactory.getLogger(MetaCheckpoint.class);
    public static final String SINGLE_FILE = "consolidated.pth";
    private static final Pattern SHARD_FILE = Pattern.compile("consolidated\\.(\\d{2,})\\.pth");
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** How a tensor is spread over model-parallel shards. */
    private enum Split { ROWS, COLUMNS, REPLICATED, PER_HEAD_NORM, PER_KV_HEAD_NORM }

    /** Meta's name, HF's name, and how the shards split it. */
    private record Mapping(String meta, String hf, Split split) {
    }

    private static final Mapping[] LAYER = {
            new Mapping("attention.wq.weight", "self_attn.q_proj.weight", Split.ROWS),
            new Mapping("attention.wk.weight", "self_attn.k_proj.weight", Split.ROWS),
            new Mapping("attention.wv.weight", "self_attn.v_proj.weight", Split.ROWS),
            new Mapping("attention.wo.weight", "self_attn.o_proj.weight", Split.COLUMNS),
            new Mapping("feed_forward.w1.weight", "mlp.gate_proj.weight", Split.ROWS),
            new Mapping("feed_forward.w3.weight", "mlp.up_proj.weight", Split.ROWS),
            new Mapping("feed_forward.w2.weight", "mlp.down_proj.weight", Split.COLUMNS),
            new Mapping("attention_norm.weight", "input_layernorm.weight", Split.REPLICATED),
            new Mapping("ffn_norm.weight", "post_attention_layernorm.weight", Split.REPLICATED),
    };
    private static final Mapping[] QK_NORM = {
            new Mapping("attention.q_normalization.weight", "self_attn.q_norm.weight", Split.PER_HEAD_NORM),
            new Mapping("attention.q_normalization.bias", "self_attn.q_norm.bias", Split.PER_HEAD_NORM),
            new Mapping("attention.k_normalization.weight", "self_attn.k_norm.weight", Split.PER_KV_HEAD_NORM),
            new Mapping("attention.k_normalization.bias", "self_attn.k_norm.bias", Split.PER_KV_HEAD_NORM),
    };
    private static final Mapping[] GLOBAL = {
            new Mapping("tok_embeddings.weight", "model.embed_tokens.weight", Split.COLUMNS),
            new Mapping("norm.weight", "model.norm.weight", Split.REPLICATED),
            new Mapping("output.weight", "lm_head.weight", Split.ROWS),
    };

    private final Path modelDir;
    private final List<TorchCheckpoint> shards;
    private final Arena arena;
    private final Map<String, Tensor> tensors;

    private MetaCheckpoint(Path modelDir, List<TorchCheckpoint> shards, Arena arena, Map<String, Tensor> tensors) {
        this.modelDir = modelDir;
        this.shards = shards;
        this.arena = arena;
        this.tensors = tensors;
    }

    /** Whether {@code dir} holds Meta's weight files ({@code consolidated.pth} or {@code consolidated.NN.pth}). */
    public static boolean hasWeights(Path dir) {
        return Files.isRegularFile(dir.resolve(SINGLE_FILE)) || !shardFiles(dir).isEmpty();
    }

    /** Opens the shards of {@code modelDir} that {@code params} calls for and checks every tensor's shape. */
    public static MetaCheckpoint open(Path modelDir, MetaParams params) {
        List<Path> files = weightFiles(modelDir, params);
        List<TorchCheckpoint> shards = new ArrayList<>();
        Arena arena = Arena.ofShared();
        try {
            for (Path f : files) shards.add(TorchCheckpoint.open(f));
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            Assembler a = new Assembler(params, shards, arena);
            for (Mapping m : GLOBAL) tensors.put(m.hf, a.tensor(m.meta, m.hf, m));
            for (int i = 0; i < params.nLayers(); i++) {
                for (Mapping m : LAYER) put(tensors, a, i, m);
                if (params.qkNormalization()) for (Mapping m : QK_NORM) put(tensors, a, i, m);
            }
            logUnused(shards, params);
            return new MetaCheckpoint(modelDir, List.copyOf(shards), arena, Collections.unmodifiableMap(tensors));
        } catch (RuntimeException e) {
            shards.forEach(TorchCheckpoint::close);
            arena.close();
            throw e;
        }
    }

    private static void put(Map<String, Tensor> tensors, Assembler a, int layer, Mapping m) {
        String hf = "model.layers." + layer + "." + m.hf;
        tensors.put(hf, a.tensor("layers." + layer + "." + m.meta, hf, m));
    }

    private static void logUnused(List<TorchCheckpoint> shards, MetaParams p) {
        Pattern used = Pattern.compile("(tok_embeddings|norm|output)\\.weight|rope\\.freqs|layers\\.(\\d+)\\.("
                + String.join("|", Stream.concat(Arrays.stream(LAYER), Arrays.stream(QK_NORM))
                .map(m -> Pattern.quote(m.meta)).toList()) + ")");
        for (TorchCheckpoint s : shards) {
            List<String> unused = s.tensors().keySet().stream().filter(n -> {
                Matcher m = used.matcher(n);
                return !m.matches() || m.group(2) != null && Integer.parseInt(m.group(2)) >= p.nLayers();
            }).toList();
            if (!unused.isEmpty()) LOG.debug("{}: {} tensors not used by the decoder: {}", s.path(), unused.size(), unused);
        }
    }

    /** The weight files in shard order, checked against {@code model_parallel_size}. */
    private static List<Path> weightFiles(Path dir, MetaParams p) {
        Path single = dir.resolve(SINGLE_FILE);
        TreeMap<Integer, Path> numbered = shardFiles(dir);
        if (p.modelParallelSize() == 1 && Files.isRegularFile(single)) return List.of(single);
        String found = numbered.isEmpty() ? (Files.isRegularFile(single) ? SINGLE_FILE : "no consolidated*.pth file")
                : numbered.values().stream().map(f -> f.getFileName().toString()).toList().toString();
        String field = "field 'model_parallel_size' (" + p.modelParallelSize() + (p.modelParallelSize() == 1 ? ", the default" : "")
                + ") calls for ";
        String wanted = p.modelParallelSize() == 1 ? SINGLE_FILE + " or consolidated.00.pth"
                : "consolidated.00.pth … consolidated." + String.format("%02d", p.modelParallelSize() - 1) + ".pth";
        Path where = Files.isRegularFile(dir.resolve(MetaParams.CONSOLIDATE_PARAMS)) ? dir.resolve(MetaParams.CONSOLIDATE_PARAMS) : p.file();
        if (numbered.size() != p.modelParallelSize() || numbered.isEmpty() || numbered.firstKey() != 0 || numbered.lastKey() != p.modelParallelSize() - 1) {
            throw CheckpointException.of(where, field + wanted + " but " + dir + " holds " + found);
        }
        return List.copyOf(numbered.values());
    }

    private static TreeMap<Integer, Path> shardFiles(Path dir) {
        TreeMap<Integer, Path> out = new TreeMap<>();
        if (!Files.isDirectory(dir)) return out;
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(f -> {
                Matcher m = SHARD_FILE.matcher(f.getFileName().toString());
                if (m.matches() && Files.isRegularFile(f) && m.group(1).length() < 6) out.put(Integer.parseInt(m.group(1)), f);
            });
        } catch (IOException e) {
            throw CheckpointException.of(dir, "cannot list the folder: " + e.getMessage());
        }
        return out;
    }

    /** Finds each tensor in every shard, checks its per-shard shape, and views or joins it. */
    private record Assembler(MetaParams p, List<TorchCheckpoint> shards, Arena arena) {
        Tensor tensor(String meta, String hf, Mapping m) {
            int n = shards.size();
            Split split = m.split;
            List<Tensor> parts = new ArrayList<>(n);
            long[] expected = shardShape(m);
            for (TorchCheckpoint s : shards) {
                Tensor t = s.find(meta).orElseThrow(() -> CheckpointException.of(s.path(), "missing tensor '" + meta
                        + "' (params.json: n_layers " + p.nLayers() + ", qk_normalization " + p.qkNormalization() + ")"));
                if (!Arrays.equals(t.shape(), expected)) {
                    throw CheckpointException.of(s.path(), "tensor '" + meta + "': expected shape " + Arrays.toString(expected)
                            + shapeReason(split) + ", found " + Arrays.toString(t.shape()));
                }
                if (t.dtype() != parts.stream().findFirst().map(Tensor::dtype).orElse(t.dtype())) {
                    throw CheckpointException.of(s.path(), "tensor '" + meta + "' is " + t.dtype() + " but "
                            + parts.getFirst().dtype() + " in the first shard");
                }
                parts.add(t);
            }
            return switch (split) {
                case PER_HEAD_NORM -> perHead(hf, parts, p.nHeads() / n);
                case PER_KV_HEAD_NORM -> perHead(hf, parts, p.nKvHeads() / n);
                case REPLICATED -> n == 1 ? view(hf, parts.getFirst()) : mean(hf, parts);
                case ROWS -> n == 1 ? view(hf, parts.getFirst()) : joinRows(hf, parts);
                case COLUMNS -> n == 1 ? view(hf, parts.getFirst()) : joinColumns(hf, parts);
            };
        }

        private static String shapeReason(Split split) {
            return split == Split.PER_HEAD_NORM || split == Split.PER_KV_HEAD_NORM
                    ? " (Meta's QK-norm is one [head_dim] LayerNorm shared by the heads of a shard)" : "";
        }

        /** What one shard holds of the tensor {@code m} names. */
        private long[] shardShape(Mapping m) {
            int n = shards.size(), d = p.dim(), hd = p.headDim();
            return switch (m.meta) {
                case "tok_embeddings.weight" -> new long[]{p.vocabSize(), d / n};
                case "output.weight" -> new long[]{p.vocabSize() / n, d};
                case "norm.weight", "attention_norm.weight", "ffn_norm.weight" -> new long[]{d};
                case "attention.wq.weight" -> new long[]{(long) p.nHeads() * hd / n, d};
                case "attention.wk.weight", "attention.wv.weight" -> new long[]{(long) p.nKvHeads() * hd / n, d};
                case "attention.wo.weight" -> new long[]{d, (long) p.nHeads() * hd / n};
                case "feed_forward.w1.weight", "feed_forward.w3.weight" -> new long[]{p.intermediateSize() / n, d};
                case "feed_forward.w2.weight" -> new long[]{d, p.intermediateSize() / n};
                default -> new long[]{hd};     // the QK-norm vectors
            };
        }

        private static Tensor view(String hf, Tensor t) {
            return new Tensor(hf, t.dtype(), t.shape(), t.data());
        }

        /** Shard s's [head_dim] vector for each of its {@code headsPerShard} heads: [heads, head_dim] f32. */
        private Tensor perHead(String hf, List<Tensor> parts, int headsPerShard) {
            int hd = p.headDim();
            MemorySegment out = arena.allocate(4L * parts.size() * headsPerShard * hd, 64);
            long at = 0;
            for (Tensor t : parts) {
                float[] v = t.toFloatArray();
                for (int h = 0; h < headsPerShard; h++, at += 4L * hd) MemorySegment.copy(v, 0, out, F32, at, hd);
            }
            return new Tensor(hf, DType.F32, new long[]{(long) parts.size() * headsPerShard, hd}, out);
        }

        private Tensor mean(String hf, List<Tensor> parts) {
            float[] sum = new float[(int) parts.getFirst().elementCount()];
            for (Tensor t : parts) {
                float[] v = t.toFloatArray();
                for (int i = 0; i < sum.length; i++) sum[i] += v[i];
            }
            MemorySegment out = arena.allocate(4L * sum.length, 64);
            for (int i = 0; i < sum.length; i++) out.setAtIndex(F32, i, sum[i] / parts.size());
            return new Tensor(hf, DType.F32, parts.getFirst().shape(), out);
        }

        private Tensor joinRows(String hf, List<Tensor> parts) {
            long bytes = parts.stream().mapToLong(t -> t.data().byteSize()).sum();
            MemorySegment out = arena.allocate(bytes, 64);
            long at = 0;
            for (Tensor t : parts) {
                MemorySegment.copy(t.data(), 0, out, at, t.data().byteSize());
                at += t.data().byteSize();
            }
            long[] shape = parts.getFirst().shape();
            shape[0] *= parts.size();
            return new Tensor(hf, parts.getFirst().dtype(), shape, out);
        }

        private Tensor joinColumns(String hf, List<Tensor> parts) {
            long[] shape = parts.getFirst().shape();
            long rows = shape[0], partRowBytes = parts.getFirst().data().byteSize() / rows;
            MemorySegment out = arena.allocate(partRowBytes * parts.size() * rows, 64);
            for (long r = 0, at = 0; r < rows; r++) {
                for (Tensor t : parts) {
                    MemorySegment.copy(t.data(), r * partRowBytes, out, at, partRowBytes);
                    at += partRowBytes;
                }
            }
            shape[1] *= parts.size();
            return new Tensor(hf, parts.getFirst().dtype(), shape, out);
        }
    }

    /** The weight files, in shard order. */
    public List<Path> files() {
        return shards.stream().map(TorchCheckpoint::path).toList();
    }

    /** Whether the shards were joined into native memory (several shards) rather than viewed in place. */
    public boolean joined() {
        return shards.size() > 1;
    }

    /** {@code torch_dtype}'s name for the stored type of the matrices. */
    public String torchDtype() {
        return switch (tensors.get("model.embed_tokens.weight").dtype()) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F64 -> "float64";
            default -> "float32";
        };
    }

    @Override
    public void requireIntact() {
        shards.forEach(TorchCheckpoint::requireIntact);
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    @Override
    public String describe() {
        return modelDir.toString();
    }

    @Override
    public void close() {
        shards.forEach(TorchCheckpoint::close);
        arena.close();
    }
}
