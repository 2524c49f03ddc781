package dev.cm3leon.vq;

import dev.cm3leon.checkpoint.CheckpointException;
import dev.cm3leon.checkpoint.SafetensorsCheckpoint;
import dev.cm3leon.checkpoint.SafetensorsFile;
import dev.cm3leon.checkpoint.TensorSource;
import dev.cm3leon.checkpoint.TorchCheckpoint;
import dev.cm3leon.checkpoint.VqConfig;
import dev.cm3leon.engine.cpu.Conv2d;
import dev.cm3leon.engine.cpu.CpuOps;
import dev.cm3leon.engine.cpu.Parallel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Chameleon's image tokenizer, the VQ-GAN: an image's pixel values become a grid of codebook indices (encoder,
 * {@code quant_conv}, nearest codebook row), and a grid of indices becomes an image (codebook rows,
 * {@code post_quant_conv}, decoder, Meta's 8-bit conversion). Runs on the CPU in float32.
 *
 * <p>Weights are found by Meta's names ({@code encoder.*}, {@code quant_conv.*}, {@code quantize.embedding.weight},
 * {@code post_quant_conv.*}, {@code decoder.*}), bare or under HF's {@code model.vqmodel.} prefix, and copied to the
 * heap when the tokenizer is built, so the sources may be closed afterwards. The decoder is optional (HF's converter
 * drops it): without it, {@link #encode} works and {@link #decode} explains what is missing. Thread-safe.
 */
public final class VqGan {
    private static final Logger LOG = LoggerFactory.getLogger(VqGan.class);
    public static final String META_CONFIG = "vqgan.yaml";
    public static final String META_SAFETENSORS = "vqgan.safetensors";
    public static final String META_CKPT = "vqgan.ckpt";

    private final VqConfig config;
    private final String source;
    private final VqEncoder encoder;
    private final Conv2d quantConv, postQuantConv;
    private final float[] codebook;          // [codes, embedDim]
    private final float[] codebookT;         // [embedDim, codes]
    private final double[] codebookNorms;    // |e_j|²
    private final VqDecoder decoder;         // null when the checkpoint has none

    private VqGan(VqConfig config, VqWeights w) {
        this.config = config;
        this.source = w.where();
        int z = config.latentChannels(), d = config.embedDim(), n = config.numEmbeddings();
        this.encoder = new VqEncoder(w, config);
        this.quantConv = w.conv1x1("quant_conv", d, z);
        this.codebook = w.floats("quantize.embedding.weight", n, d);
        this.codebookT = new float[n * d];
        for (int j = 0; j < n; j++) {
            for (int c = 0; c < d; c++) codebookT[c * n + j] = codebook[j * d + c];
        }
        this.codebookNorms = new double[n];
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int c = 0; c < d; c++) s += (double) codebook[j * d + c] * codebook[j * d + c];
            codebookNorms[j] = s;
        }
        if (w.has("decoder.conv_in.weight")) {
            this.postQuantConv = w.conv1x1("post_quant_conv", z, d);
            this.decoder = new VqDecoder(w, config);
        } else {
            this.postQuantConv = null;
            this.decoder = null;
        }
    }

    /** Builds the tokenizer from tensors looked up in {@code sources}, in order (each may use either naming). */
    public static VqGan from(VqConfig config, List<? extends TensorSource> sources) {
        return new VqGan(config, new VqWeights(new ArrayList<>(sources)));
    }

    public static VqGan from(VqConfig config, TensorSource... sources) {
        return from(config, List.of(sources));
    }

    /**
     * Loads the image tokenizer from a folder holding either an HF Chameleon checkpoint ({@code config.json} with
     * {@code vq_config}, {@code model.safetensors} or shards with {@code model.vqmodel.*} tensors) or Meta's files
     * ({@code vqgan.yaml} with {@code vqgan.safetensors} or {@code vqgan.ckpt}), or both (Meta's file then supplies
     * the decoder HF's checkpoint lacks).
     */
    public static VqGan load(Path folder) {
        if (!Files.isDirectory(folder)) throw CheckpointException.of(folder, "not a folder");
        VqConfig config = readConfig(folder);
        List<TensorSource> sources = new ArrayList<>();
        try {
            // The HF checkpoint's own tensors first; Meta's file supplies what they lack (the decoder).
            if (SafetensorsCheckpoint.isCheckpointFolder(folder)) sources.add(SafetensorsCheckpoint.open(folder));
            metaWeights(folder).ifPresent(sources::add);
            if (sources.isEmpty()) {
                throw CheckpointException.of(folder, "no image tokenizer weights: expected " + META_SAFETENSORS + " or "
                        + META_CKPT + " (Meta's names), or " + SafetensorsCheckpoint.SINGLE_FILE + " with model.vqmodel.* tensors");
            }
            VqGan vq = from(config, sources);
            LOG.debug("loaded the image tokenizer from {} ({}decoder)", vq.source, vq.canDecode() ? "" : "no ");
            return vq;
        } finally {
            sources.forEach(TensorSource::close);
        }
    }

    /** {@code vq_config} from {@code config.json}, else Meta's {@code vqgan.yaml}; both must agree when both exist. */
    private static VqConfig readConfig(Path folder) {
        Path json = folder.resolve("config.json"), yaml = folder.resolve(META_CONFIG);
        Optional<VqConfig> hf = Files.isRegularFile(json) ? VqConfig.readHfConfig(json) : Optional.empty();
        Optional<VqConfig> meta = Files.isRegularFile(yaml) ? Optional.of(VqConfig.readMetaYaml(yaml)) : Optional.empty();
        if (hf.isPresent() && meta.isPresent() && !hf.get().equals(meta.get())) {
            throw CheckpointException.of(folder, "config.json's vq_config " + hf.get() + " and " + META_CONFIG + "'s "
                    + meta.get() + " differ");
        }
        return hf.or(() -> meta).orElseThrow(() -> CheckpointException.of(folder,
                "no image tokenizer config: expected config.json with vq_config, or " + META_CONFIG));
    }

    /** Meta's weight file in {@code folder}, if any: {@code vqgan.safetensors}, else {@code vqgan.ckpt}. */
    public static Optional<TensorSource> metaWeights(Path folder) {
        Path st = folder.resolve(META_SAFETENSORS), ckpt = folder.resolve(META_CKPT);
        if (Files.isRegularFile(st)) return Optional.of(SafetensorsFile.open(st));
        if (Files.isRegularFile(ckpt)) return Optional.of(TorchCheckpoint.open(ckpt));
        return Optional.empty();
    }

    public VqConfig config() {
        return config;
    }

    /** Whether the checkpoint carried the decoder. */
    public boolean canDecode() {
        return decoder != null;
    }

    public int codebookSize() {
        return config.numEmbeddings();
    }

    /**
     * FLOPs (a multiply-add is two) of decoding a {@code gridH × gridW} code grid: the convolutions and attention
     * products, from {@code post_quant_conv} to {@code conv_out}; zero without a decoder. The figure a decode time
     * is set against the machine's FMA peak with.
     */
    public long decodeFlops(int gridH, int gridW) {
        return decoder == null ? 0 : postQuantConv.flops(gridH, gridW) + decoder.flops(gridH, gridW);
    }

    /** FLOPs of encoding an {@code h × w} image, to {@code quant_conv} (the nearest-code search aside). */
    public long encodeFlops(int h, int w) {
        int down = 1 << (config.levels() - 1);
        return encoder.flops(h, w) + quantConv.flops(h / down, w / down);
    }

    public CodeGrid encode(FeatureMap pixels) {
        return encode(pixels, VqProbe.NONE);
    }

    /** Pixel values [in, H, W] → codebook indices, row-major over the latent grid. */
    public CodeGrid encode(FeatureMap pixels, VqProbe probe) {
        int down = 1 << (config.levels() - 1);
        if (pixels.height() < down || pixels.width() < down) {
            throw new VqException("a " + pixels.height() + "×" + pixels.width() + " image is smaller than the encoder's "
                    + down + "× downsampling");
        }
        FeatureMap latent = VqEncoder.conv(quantConv, encoder.apply(pixels, probe));
        probe.observe(VqProbe.QUANT_CONV, latent);
        return new CodeGrid(latent.height(), latent.width(), nearestCodes(latent));
    }

    /** Per position, the codebook row minimising |z|² + |e|² − 2 z·e; the first one on ties. */
    private int[] nearestCodes(FeatureMap latent) {
        int d = latent.channels(), n = latent.positions(), codes = config.numEmbeddings();
        float[] z = latent.data();      // [embedDim, positions]
        int[] out = new int[n];
        Parallel.forRange(n, Math.max(1, (1 << 16) / Math.max(1, codes * d)), (p0, p1) -> {
            float[] dots = new float[codes];
            for (int p = p0; p < p1; p++) {
                // z·e_j for every j at once, accumulated lane-wise so that the result does not depend on JIT state.
                java.util.Arrays.fill(dots, 0f);
                double zz = 0;
                for (int c = 0; c < d; c++) {
                    float zc = z[c * n + p];
                    zz += (double) zc * zc;
                    CpuOps.axpy(zc, codebookT, c * codes, dots, 0, codes);
                }
                int best = 0;
                double bestDist = Double.POSITIVE_INFINITY;
                for (int j = 0; j < codes; j++) {
                    double dist = zz + codebookNorms[j] - 2.0 * dots[j];
                    if (dist < bestDist) {
                        bestDist = dist;
                        best = j;
                    }
                }
                out[p] = best;
            }
        });
        return out;
    }

    public FeatureMap decode(CodeGrid grid) {
        return decode(grid, VqProbe.NONE);
    }

    /** Codes → the decoder's float image [out, 2^(levels−1)·h, 2^(levels−1)·w], before clamping. */
    public FeatureMap decode(CodeGrid grid, VqProbe probe) {
        if (decoder == null) {
            throw new VqException(source + " has no VQ-GAN decoder: tensors decoder.* are missing (looked for '"
                    + VqWeights.HF_PREFIX + "decoder.conv_in.weight' and 'decoder.conv_in.weight'). HF's converter drops "
                    + "them; put Meta's " + META_SAFETENSORS + " or " + META_CKPT + " beside the checkpoint");
        }
        int d = config.embedDim(), h = grid.height(), w = grid.width(), n = h * w;
        float[] zq = new float[d * n];   // codebook rows as [embedDim, h, w]
        for (int p = 0; p < n; p++) {
            int code = grid.code(p);
            if (code < 0 || code >= config.numEmbeddings()) {
                throw new VqException("code " + code + " at position " + p + " (row " + p / w + ", column " + p % w
                        + ") is outside the codebook of " + config.numEmbeddings() + " entries");
            }
            for (int c = 0; c < d; c++) zq[c * n + p] = codebook[code * d + c];
        }
        FeatureMap z = VqEncoder.conv(postQuantConv, new FeatureMap(d, h, w, zq));
        probe.observe(VqProbe.POST_QUANT_CONV, z);
        return decoder.apply(z, probe);
    }

    /** Codes → an RGB image, converted to 8 bits by Meta's rule ({@link #toRgb}). */
    public BufferedImage decodeImage(CodeGrid grid) {
        return toRgb(decode(grid)).toBufferedImage();
    }

    /**
     * The decoder's float image [3, H, W] as 8-bit RGB by Meta's rule, all in float32:
     * {@code t = (clamp(x, −1, 1) + 1) / 2; u8 = (int) (t · 255)}, truncating, not rounding.
     */
    public static RgbImage toRgb(FeatureMap image) {
        if (image.channels() != 3) throw new VqException("an RGB image needs 3 channels, got " + image.channels());
        int n = image.positions();
        float[] x = image.data();
        byte[] rgb = new byte[3 * n];
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < n; p++) {
                float v = x[c * n + p];
                float t = (Math.max(-1f, Math.min(1f, v)) + 1f) / 2f;
                rgb[p * 3 + c] = Float.isNaN(v) ? 0 : (byte) (int) (t * 255f);
            }
        }
        return new RgbImage(image.width(), image.height(), rgb);
    }

    @Override
    public String toString() {
        return "VqGan[" + config + ", " + source + (decoder == null ? ", no decoder]" : "]");
    }
}
