package dev.cm3leon.engine;

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

    public static DecoderWeights from(TensorSource source, ModelConfig c) {
        int d = c.hiddenSize(), ff = c.intermediateSize(), v = c.vocabSize();
        Tensor embed = source.require("model.embed_tokens.weight").requireShape(v, d);
        List<Layer> layers = new ArrayList<>(c.numLayers());
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
        for (Tensor t : List.of(embed, norm, lmHead)) requireFloat(t);
        return new DecoderWeights(c, embed, List.copyOf(layers), norm, lmHead);
    }

    private static void requireFloat(Tensor t) {
        if (!t.dtype().isFloatingPoint() && !t.dtype().isQuantized()) {
            throw new dev.cm3leon.checkpoint.CheckpointException("tensor '" + t.name() + "': dtype " + t.dtype()
                    + " is not a floating-point or block-quantized weight type");
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
