package dev.cm3leon.vq;

/**
 * Observes the VQ-GAN's intermediate activations, named after the reference's modules; tests compare them with the
 * reference's, and they help to find where two implementations part.
 */
@FunctionalInterface
public interface VqProbe {
    /** Output of the encoder's {@code conv_in}. */
    String ENCODER_CONV_IN = "encoder.conv_in";
    /** Output of the encoder's {@code mid.block_2}. */
    String ENCODER_MID = "encoder.mid";
    /** Output of the encoder's {@code conv_out}. */
    String ENCODER_OUT = "encoder.conv_out";
    /** Output of {@code quant_conv}: the latent that is matched against the codebook. */
    String QUANT_CONV = "quant_conv";
    /** Output of {@code post_quant_conv}: the looked-up codebook rows, projected. */
    String POST_QUANT_CONV = "post_quant_conv";
    /** Output of the decoder's {@code conv_in}. */
    String DECODER_CONV_IN = "decoder.conv_in";
    /** Output of the decoder's {@code mid.block_2}. */
    String DECODER_MID = "decoder.mid";
    /** Input of the decoder's {@code norm_out}. */
    String DECODER_PRE_NORM = "decoder.pre_norm";

    VqProbe NONE = (point, value) -> { };

    void observe(String point, FeatureMap value);
}
