package dev.cm3leon.cli;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.vq.CodeGrid;
import dev.cm3leon.vq.FeatureMap;
import dev.cm3leon.vq.ImageFiles;
import dev.cm3leon.vq.VqGan;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Decodes codebook indices into a PNG (Meta's 8-bit rule) and, optionally, the raw float image. */
@Command(name = "vq-decode", mixinStandardHelpOptions = true,
        description = "Decode codebook indices with the VQ-GAN decoder into a PNG.")
public final class VqDecodeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "HF Chameleon folder with the decoder (or Meta's vqgan.safetensors / vqgan.ckpt beside it), "
                    + "or a folder with Meta's vqgan.yaml and vqgan.safetensors or vqgan.ckpt")
    Path model;

    @Option(names = "--codes", required = true, paramLabel = "I,J,…", description = "codebook indices, row-major, comma-separated")
    String codes;

    @Option(names = "--grid", paramLabel = "HxW", description = "grid height × width (default: square)")
    String grid;

    @Option(names = "--pad", description = "pad a short sequence with copies of its first code, as Meta does for an incomplete image")
    boolean pad;

    @Option(names = "--out", required = true, paramLabel = "FILE.png", description = "where to write the PNG")
    Path out;

    @Option(names = "--raw", paramLabel = "FILE.bin", description = "also write the decoder's float32 output [3,H,W], little-endian, before clamping")
    Path raw;

    @Override
    public Integer call() throws IOException {
        int[] values = parseCodes(codes);
        CodeGrid g = grid == null ? (pad ? throwNeedsGrid() : CodeGrid.square(values)) : gridOf(values);
        VqGan vq = VqGan.load(model);
        FeatureMap image = vq.decode(g);
        ImageFiles.writePng(VqGan.toRgb(image).toBufferedImage(), out);
        if (raw != null) {
            ByteBuffer b = ByteBuffer.allocate(image.data().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(image.data());
            ImageFiles.writeAtomically(raw, o -> o.write(b.array()));
        }
        spec.commandLine().getOut().println("wrote " + out + " (" + image.width() + "×" + image.height() + ")"
                + (raw != null ? " and " + raw : ""));
        return 0;
    }

    private CodeGrid throwNeedsGrid() {
        throw new Cm3LeonException("--pad needs --grid HxW (the size to pad to)");
    }

    private CodeGrid gridOf(int[] values) {
        String[] hw = grid.toLowerCase(java.util.Locale.ROOT).split("[x×]");
        int h, w;
        try {
            if (hw.length != 2) throw new NumberFormatException();
            h = Integer.parseInt(hw[0].strip());
            w = Integer.parseInt(hw[1].strip());
        } catch (NumberFormatException e) {
            throw new Cm3LeonException("--grid: '" + grid + "' is not HxW (for example 32x32)");
        }
        if (h < 1 || w < 1) throw new Cm3LeonException("--grid: sides must be positive, got " + grid);
        return pad ? CodeGrid.padded(values, h, w) : new CodeGrid(h, w, values);
    }

    static int[] parseCodes(String text) {
        String[] parts = text.strip().split("\\s*,\\s*");
        if (text.isBlank()) throw new Cm3LeonException("--codes: no codes given");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new Cm3LeonException("--codes: '" + parts[i] + "' (item " + i + ") is not an integer");
            }
        }
        return out;
    }
}
