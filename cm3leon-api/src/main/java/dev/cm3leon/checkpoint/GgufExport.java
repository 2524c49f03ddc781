package dev.cm3leon.checkpoint;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a model given under HF names as a GGUF file the way llama.cpp's converter does: llama.cpp tensor names and
 * {@code {arch}.*} metadata, the query and key rows of each head permuted so that RoPE pairs are adjacent (and
 * Chameleon's QK-norm weights with them), norms in F32, weight matrices in the chosen type (F32 where a quantized
 * type does not fit the row length). {@link GgufModel} reads such a file back.
 */
public final class GgufExport {
    private GgufExport() {
    }

    /**
     * @param hf         the tensors, HF-named (lm_head absent when the embeddings are tied)
     * @param matrixType F32, F16, BF16, Q8_0 or Q4_0 for the weight matrices
     * @param extra      further metadata (a tokenizer's {@code tokenizer.ggml.*} keys), written last
     */
    public static void write(Path file, ModelConfig c, RowSource hf, DType matrixType, Map<String, Object> extra) {
        String arch = c.modelType();
        if (!arch.equals("llama") && !arch.equals("chameleon")) throw new IllegalArgumentException("cannot export " + arch);
        if (c.interleavedRope()) throw new IllegalArgumentException("the source already has GGUF's permuted rows");
        GgufWriter w = new GgufWriter()
                .put("general.architecture", arch)
                .put("general.name", "cm3leon-" + arch)
                .put("general.file_type", fileType(matrixType))
                .put(arch + ".context_length", c.maxPositions())
                .put(arch + ".embedding_length", c.hiddenSize())
                .put(arch + ".block_count", c.numLayers())
                .put(arch + ".feed_forward_length", c.intermediateSize())
                .put(arch + ".attention.head_count", c.numHeads())
                .put(arch + ".attention.head_count_kv", c.numKvHeads())
                .put(arch + ".attention.layer_norm_rms_epsilon", (float) c.rmsNormEps())
                .put(arch + ".rope.freq_base", (float) c.ropeTheta())
                .put(arch + ".rope.dimension_count", c.headDim())
                .put(arch + ".vocab_size", c.vocabSize());
        if (arch.equals("chameleon")) w.put("chameleon.swin_norm", c.swinNorm());
        w.put("tokenizer.ggml.bos_token_id", c.bosId()).put("tokenizer.ggml.eos_token_id", c.eosId())
                .put("tokenizer.ggml.padding_token_id", c.padId());
        c.vocabulary().ifPresent(v -> {
            if (!extra.containsKey("tokenizer.ggml.tokens")) {
                String[] tokens = new String[c.vocabSize()];
                v.tokens().forEach((t, id) -> tokens[id] = t);
                List<String> list = new ArrayList<>(tokens.length);
                for (int i = 0; i < tokens.length; i++) list.add(tokens[i] == null ? "<unused" + i + ">" : tokens[i]);
                w.put("tokenizer.ggml.model", "gpt2").put("tokenizer.ggml.tokens", list);
            }
        });
        extra.forEach(w::put);

        List<String> names = new ArrayList<>();
        for (String name : hf.names()) {
            String g = GgufModel.ggufName(name);
            if (g == null) continue;
            long[] shape = hf.shape(name);
            boolean matrix = shape.length == 2 && !name.contains("_norm.");
            DType type = matrix ? matrixType : DType.F32;
            if (type.isQuantized() && shape[shape.length - 1] % type.blockSize() != 0) type = DType.F32;
            w.tensor(g, type, shape);
            names.add(name);
        }
        int hd = c.headDim();
        w.write(file, (g, r, dst) -> {
            String name = GgufModel.hfName(g);
            if (name.endsWith("q_proj.weight") || name.endsWith("k_proj.weight")) {
                // GGUF row (head, 2i + c) is HF row (head, c·hd/2 + i).
                long head = r / hd;
                int j = (int) (r % hd);
                hf.row(name, head * hd + (j % 2) * (hd / 2) + j / 2, dst);
            } else if (name.contains("q_norm.") || name.contains("k_norm.")) {
                float[] src = new float[hd];
                hf.row(name, r, src);
                for (int j = 0; j < hd; j++) dst[j] = src[(j % 2) * (hd / 2) + j / 2];
            } else {
                hf.row(name, r, dst);
            }
        });
    }

    /** llama.cpp's {@code general.file_type}: the type most weights have. */
    private static int fileType(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("GGUF export supports F32, F16, BF16, Q8_0 and Q4_0, not " + t.name().toLowerCase(Locale.ROOT));
        };
    }
}
