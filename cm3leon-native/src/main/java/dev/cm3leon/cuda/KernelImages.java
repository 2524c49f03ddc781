package dev.cm3leon.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The kernels packaged by cm3leon-kernels under {@code dev/cm3leon/kernels/}: for each op its CUDA source and, when
 * nvcc ran at build time, a fatbin (sm_80, sm_90 SASS + compute_90 PTX) and PTX for compute_80 and compute_90.
 * {@code index.txt} lists them, one op a line: {@code op source fatbin ptx80 ptx90 options} ("-" = absent).
 */
public final class KernelImages {
    public static final String ROOT = "dev/cm3leon/kernels/";
    public static final String INDEX = ROOT + "index.txt";
    public static final String HEADER = "common.cuh";

    /** One op's images; resources are names under {@link #ROOT}. */
    public record Op(String name, String source, Optional<String> fatbin, Optional<String> ptx80,
                     Optional<String> ptx90, boolean fastMath) {
    }

    private final ClassLoader loader;
    private final List<Op> ops;
    private final String nvcc;

    private KernelImages(ClassLoader loader, List<Op> ops, String nvcc) {
        this.loader = loader;
        this.ops = List.copyOf(ops);
        this.nvcc = nvcc;
    }

    /** The index on the class path; fails when cm3leon-kernels is not there. */
    public static KernelImages load() {
        ClassLoader loader = KernelImages.class.getClassLoader();
        byte[] index = read(loader, INDEX).orElseThrow(() -> new CudaException(
                "kernel index " + INDEX + " not on the class path: add the cm3leon-kernels jar"));
        List<Op> ops = new ArrayList<>();
        String nvcc = "none";
        for (String line : new String(index, StandardCharsets.UTF_8).split("\n")) {
            line = line.strip();
            if (line.startsWith("# nvcc:")) nvcc = line.substring("# nvcc:".length()).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split("\\s+");
            if (f.length != 6) throw new CudaException(INDEX + ": malformed line '" + line + "'");
            ops.add(new Op(f[0], f[1], present(f[2]), present(f[3]), present(f[4]), f[5].contains("fast-math")));
        }
        return new KernelImages(loader, ops, nvcc);
    }

    private static Optional<String> present(String field) {
        return field.equals("-") ? Optional.empty() : Optional.of(field);
    }

    public List<Op> ops() {
        return ops;
    }

    /** Whether nvcc compiled the kernels at build time (else only sources are packaged). */
    public boolean compiled() {
        return ops.stream().allMatch(o -> o.fatbin().isPresent());
    }

    /** nvcc's version line at build time, or "none". */
    public String nvccVersion() {
        return nvcc;
    }

    /** The bytes of a packaged file. */
    public byte[] bytes(String name) {
        return read(loader, ROOT + name).orElseThrow(() -> new CudaException("kernel resource " + ROOT + name + " is missing"));
    }

    public String text(String name) {
        return new String(bytes(name), StandardCharsets.UTF_8);
    }

    /** A PTX image as cuModuleLoadData needs it: NUL-terminated. */
    public byte[] ptx(String name) {
        byte[] b = bytes(name);
        if (b.length > 0 && b[b.length - 1] == 0) return b;
        return Arrays.copyOf(b, b.length + 1);
    }

    private static Optional<byte[]> read(ClassLoader loader, String resource) {
        try (InputStream in = loader.getResourceAsStream(resource)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }
}
