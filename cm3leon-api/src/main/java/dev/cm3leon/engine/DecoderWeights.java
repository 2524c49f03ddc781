package dev.cm3leon.engine;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.TensorSource;

import java.util.ArrayList;
import java.util.List;

/**
 * The decoder's tensors, found by their HF names and checked against the config. Still views of the checkpoint in
 * its stored dtype; each backend turns them into its own representation.
 */
public record DecoderWeights(ModelConfig config, Tensor embedTokens, List<Layer> layers, Tensor norm, Tensor lmHead) {

    /** One decoder layer; {@code qNorm*}/{@code kNorm*} are null when the config has no QK-norm. */
    public record Layer(Tensor qProj, Tensor kProj, Tensor vProj, Tensor oProj,
                        Tensor qNormWeight, Tensor qNormBias, Tensor kNormWeight, Tensor kNormBias,
                        Tensor gateProj, Tensor upProj, Tensor downProj,
                        Tensor inputLayernorm, Tensor postAttentionLayernorm) {
    }

    /** Finds and checks every tensor; a {@link CheckpointException} names the checkpoint and the tensor. */
    public static DecoderWeights from(TensorSource source, ModelConfig c) {
        try {
            return find(source, c);
        } catch (CheckpointException e) {
            if (e.getMessage().startsWith(source.describe())) throw e;
            throw new CheckpointException(source.describe() + ": " + e.getMessage(), e);
        }
    }

    private static DecoderWeights find(TensorSource source, ModelConfig c) {
        int d = c.hiddenSize(), ff = c.intermediateSize(), v = c.vocabSize();
        Tensor embed = source.require("model.embed_tokens.weight").requireShape(v, d);
        // Not presized: num_hidden_layers comes from the config, and the tensors are what bound it.
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            Tensor qw = null, qb = null, kw = null, kb = null;
            if (c.qkNorm()) {
                qw = source.require(p + "self_attn.q_norm.weight").requireShape(c.numHeads(), c.headDim());
                qb = source.require(p + "self_attn.q_norm.bias").requireShape(c.numHeads(), c.headDim());
                kw = source.require(p + "self_attn.k_norm.weight").requireShape(c.numKvHeads(), c.headDim());
                kb = source.require(p + "self_attn.k_norm.bias").requireShape(c.numKvHeads(), c.headDim());
            }
            layers.add(new Layer(
                    source.require(p + "self_attn.q_proj.weight").requireShape(c.qDim(), d),
                    source.require(p + "self_attn.k_proj.weight").requireShape(c.kvDim(), d),
                    source.require(p + "self_attn.v_proj.weight").requireShape(c.kvDim(), d),
                    source.require(p + "self_attn.o_proj.weight").requireShape(d, c.qDim()),
                    qw, qb, kw, kb,
                    source.require(p + "mlp.gate_proj.weight").requireShape(ff, d),
                    source.require(p + "mlp.up_proj.weight").requireShape(ff, d),
                    source.require(p + "mlp.down_proj.weight").requireShape(d, ff),
                    source.require(p + "input_layernorm.weight").requireShape(d),
                    source.require(p + "post_attention_layernorm.weight").requireShape(d)));
        }
        Tensor norm = source.require("model.norm.weight").requireShape(d);
        Tensor lmHead = c.tieWordEmbeddings() ? embed
                : source.find("lm_head.weight").orElseGet(() -> source.require("model.lm_head.weight")).requireShape(v, d);
        requireFloat(norm);
        for (Tensor t : List.of(embed, lmHead)) requireMatrixType(t);
        for (Layer l : layers) {
            for (Tensor t : List.of(l.qProj, l.kProj, l.vProj, l.oProj, l.gateProj, l.upProj, l.downProj)) requireMatrixType(t);
            for (Tensor t : new Tensor[]{l.qNormWeight, l.qNormBias, l.kNormWeight, l.kNormBias, l.inputLayernorm,
                    l.postAttentionLayernorm}) {
                if (t != null) requireFloat(t);
            }
        }
        return new DecoderWeights(c, embed, List.copyOf(layers), norm, lmHead);
    }

    /** Matrices are read in their stored dtype: F32, F16, BF16, or GGUF's Q8_0 and Q4_0 blocks. */
    private static void requireMatrixType(Tensor t) {
        if (t.dtype() != DType.F32 && t.dtype() != DType.F16 && t.dtype() != DType.BF16 && !t.dtype().isQuantized()) {
            throw new CheckpointException("tensor '" + t.name() + "': dtype " + t.dtype()
                    + " is not supported for weight matrices (F32, F16, BF16, Q8_0, Q4_0)");
        }
    }

    private static void requireFloat(Tensor t) {
        if (!t.dtype().isFloatingPoint()) {
            throw new CheckpointException("tensor '" + t.name() + "': dtype " + t.dtype() + " is not a floating-point weight type");
        }
    }

    /** Bytes of weights one decode step reads (every matrix once, embeddings excluded: only rows are gathered). */
    public long bytesPerStep() {
        long b = lmHead.data().byteSize() + norm.data().byteSize();
        for (Layer l : layers) {
            for (Tensor t : List.of(l.qProj, l.kProj, l.vProj, l.oProj, l.gateProj, l.upProj, l.downProj)) {
                b += t.data().byteSize();
            }
        }
        return b;
    }
}
