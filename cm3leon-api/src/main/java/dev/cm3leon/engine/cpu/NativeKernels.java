package dev.cm3leon.engine.cpu;

import dev.cm3leon.checkpoint.DType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The native decode products of {@code cm3leon-kernels} ({@code libcm3leon_cpu}, C with AVX-512 and AVX2 bodies),
 * used when that jar is on the class path, this module may call native code, and the CPU has AVX2. They exist
 * because the Vector API cannot keep a core's loads in flight as plain native loops do: on a Zen 4 core a bf16
 * row product in C reads ~1.5× the bandwidth of the best Java loop. The Java kernels stay the reference: every
 * native product is tested against its Java twin on fresh random inputs.
 *
 * <p>{@code -Dcm3leon.cpu.kernels=java} turns them off; {@code =PATH} loads the library from a file instead of the
 * class path. The choice is logged once.
 */
public final class NativeKernels {
    private static final Logger log = LoggerFactory.getLogger(NativeKernels.class);
    private static final String RESOURCE = "dev/cm3leon/kernels/cpu/linux-x86_64/libcm3leon_cpu.so";
    private static final FunctionDescriptor DOTS = FunctionDescriptor.ofVoid(
            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS);
    private static final FunctionDescriptor GEMM = FunctionDescriptor.ofVoid(
            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
    private static final FunctionDescriptor GEMM_INT8 = FunctionDescriptor.ofVoid(
            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS);
    /** The kernels in use (null: the Java ones), the line that says so, and the library's symbols. */
    private record Choice(NativeKernels kernels, String description, SymbolLookup library, int cpuLevel) {
    }

    /** The instruction sets of the kernels' bodies, by {@code cm3_cpu_level}: 1 = AVX2, 2 = AVX-512. */
    static final String[] ISA = {"none", "avx2", "avx512"};

    private static final Choice CHOICE = load();


    private final String description;
    /** Tokens per packed micro-block of the GEMM bodies (two vectors): 32 with AVX-512, 16 with AVX2. */
    private final int gemmTokens;
    private final MethodHandle bf16, q8, q4, gemmBf16, gemmQ8, gemmQ4, readSum;
    /**
     * The prompt products that need more than AVX-512F, or null where the CPU lacks them or the mode leaves them out:
     * int8 inputs for the block types (VNNI; by default, {@code -Dcm3leon.cpu.prompt=f32} turns them off) and bf16
     * inputs for bf16 weights (AVX-512 BF16; only with {@code -Dcm3leon.cpu.prompt=bf16}: it gives up the f32
     * reference's 1e-4 parity).
     */
    private final MethodHandle int8Q8, int8Q4, pairsBf16;

    private NativeKernels(String description, int gemmTokens, MethodHandle bf16, MethodHandle q8, MethodHandle q4,
                          MethodHandle gemmBf16, MethodHandle gemmQ8, MethodHandle gemmQ4, MethodHandle readSum,
                          MethodHandle int8Q8, MethodHandle int8Q4, MethodHandle pairsBf16) {
        this.description = description;
        this.gemmTokens = gemmTokens;
        this.bf16 = bf16;
        this.q8 = q8;
        this.q4 = q4;
        this.gemmBf16 = gemmBf16;
        this.gemmQ8 = gemmQ8;
        this.gemmQ4 = gemmQ4;
        this.readSum = readSum;
        this.int8Q8 = int8Q8;
        this.int8Q4 = int8Q4;
        this.pairsBf16 = pairsBf16;
    }

    /** The loaded kernels, or null where the Java kernels serve. */
    static NativeKernels instance() {
        return CHOICE.kernels();
    }

    /**
     * The kernels with the bodies for {@code isa} ("avx2" or "avx512"), or null where the library is not loaded or the
     * CPU cannot run them: tests check every body the machine can run, not only the one chosen.
     */
    static NativeKernels forIsa(String isa) {
        int level = java.util.Arrays.asList(ISA).indexOf(isa);
        if (CHOICE.library() == null || level < 1 || level > CHOICE.cpuLevel()) return null;
        return bind(CHOICE.library(), isa, promptMode());
    }

    /** As {@link #forIsa(String)} with the prompt products of {@code mode} ("auto", "f32" or "bf16"). */
    static NativeKernels forIsa(String isa, String mode) {
        int level = java.util.Arrays.asList(ISA).indexOf(isa);
        if (CHOICE.library() == null || level < 1 || level > CHOICE.cpuLevel()) return null;
        return bind(CHOICE.library(), isa, mode);
    }

    /** {@code -Dcm3leon.cpu.prompt}: "auto" (the default), "f32" or "bf16". */
    private static String promptMode() {
        String mode = System.getProperty("cm3leon.cpu.prompt", "auto").trim().toLowerCase(Locale.ROOT);
        if (!mode.equals("auto") && !mode.equals("f32") && !mode.equals("bf16")) {
            throw new IllegalArgumentException("-Dcm3leon.cpu.prompt must be auto, f32 or bf16, not '" + mode + "'");
        }
        return mode;
    }

    /** Whether the native kernels are loaded (decode products and the native read probe). */
    public static boolean loaded() {
        return CHOICE.kernels() != null;
    }

    /** Which decode products run on this machine, for logs and reports: "native avx512" or "java (why)". */
    public static String describe() {
        return CHOICE.description();
    }

    /** The native row-range product for {@code type}, or null where there is none. */
    Product product(DType type) {
        return switch (type) {
            case BF16 -> new Product(bf16, gemm(gemmBf16), null, gemm(pairsBf16));
            case Q8_0 -> new Product(q8, gemm(gemmQ8), int8Q8, null);
            case Q4_0 -> new Product(q4, gemm(gemmQ4), int8Q4, null);
            default -> null;
        };
    }

    /** The GEMM body where its packed layout is the one {@link BlockedMatmul} writes (the JVM's vector width). */
    private MethodHandle gemm(MethodHandle h) {
        return gemmTokens == BlockedMatmul.NR ? h : null;
    }

    /**
     * One storage type's native products, on rows {@code [r0, r1)} of W [rows, cols]: decode (x [n, cols] into
     * out [n, rows]) and, where the layouts agree, prefill's blocked product over packed inputs.
     */
    static final class Product {
        private final MethodHandle handle, gemm, int8Gemm, pairGemm;

        private Product(MethodHandle handle, MethodHandle gemm, MethodHandle int8Gemm, MethodHandle pairGemm) {
            this.handle = handle;
            this.gemm = gemm;
            this.int8Gemm = int8Gemm;
            this.pairGemm = pairGemm;
        }

        /** Whether bf16 prompts multiply with bf16 inputs ({@link BlockedMatmul#packBf16Pairs}). */
        boolean hasPairGemm() {
            return pairGemm != null;
        }

        /**
         * The bf16-input product of rows {@code [r0, r1)} with a block of {@code tn} tokens starting at {@code t0},
         * packed by {@link BlockedMatmul#packBf16Pairs}, into out [n, rows]; {@code cols} must be even.
         */
        void pairGemmRows(MemorySegment w, long rowBytes, int cols, int rows, int r0, int r1, int[] packed, int t0, int tn,
                          float[] out) {
            if (pairGemm == null) throw new IllegalStateException("no bf16 pair product on this machine");
            if (r0 < 0 || r1 > rows || r0 > r1 || tn < 0 || tn > BlockedMatmul.NB || t0 < 0 || cols % 2 != 0
                    || (long) cols * BlockedMatmul.NB / 2 > packed.length || (long) (t0 + tn) * rows > out.length
                    || w.byteSize() < rowBytes * rows) {
                throw new IndexOutOfBoundsException("native bf16 pair product: rows [" + r0 + ", " + r1 + ") of " + rows
                        + " × " + cols + ", tokens [" + t0 + ", " + (t0 + tn) + "), packed " + packed.length + ", out "
                        + out.length + ", weights " + w.byteSize() + " B");
            }
            if (tn == 0 || r0 == r1) return;
            try {
                pairGemm.invokeExact(w, (long) cols, rows, r0, r1, MemorySegment.ofArray(packed), t0, tn, MemorySegment.ofArray(out));
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        /** Whether prefill's blocked product runs natively too. */
        boolean hasGemm() {
            return gemm != null;
        }

        /** Whether prompts multiply as int8 ({@link Int8Prefill}). */
        boolean hasInt8Gemm() {
            return int8Gemm != null;
        }

        /**
         * The int8 prompt product of rows {@code [r0, r1)} with the quantized tokens {@code xq}, which are tokens
         * {@code t0 …} of out [n, rows].
         */
        void int8GemmRows(MemorySegment w, long rowBytes, int cols, int rows, int r0, int r1, Int8Prefill.Quantized xq,
                          int t0, float[] out) {
            if (int8Gemm == null) throw new IllegalStateException("no int8 prompt product on this machine");
            int tn = xq.tokens();
            if (r0 < 0 || r1 > rows || r0 > r1 || t0 < 0 || tn > Int8Prefill.TOKENS || xq.cols() != cols
                    || cols % Int8Prefill.BLOCK != 0 || (long) tn * cols > xq.q().length
                    || (long) tn * xq.blocks() > Math.min(xq.scale().length, xq.sum().length)
                    || (long) (t0 + tn) * rows > out.length || w.byteSize() < rowBytes * rows) {
                throw new IndexOutOfBoundsException("native int8 product: rows [" + r0 + ", " + r1 + ") of " + rows
                        + " × " + cols + ", tokens [" + t0 + ", " + (t0 + tn) + ") of " + xq.cols() + " columns, out "
                        + out.length + ", weights " + w.byteSize() + " B");
            }
            if (tn == 0 || r0 == r1) return;
            try {
                int8Gemm.invokeExact(w, (long) cols, rows, r0, r1, MemorySegment.ofArray(xq.q()), MemorySegment.ofArray(xq.scale()),
                        MemorySegment.ofArray(xq.sum()), t0, tn, MemorySegment.ofArray(out));
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        /**
         * The blocked product of rows {@code [r0, r1)} with a block of {@code tn} tokens starting at {@code t0},
         * packed as {@link BlockedMatmul#packInputs} lays them out, into out [n, rows].
         */
        void gemmRows(MemorySegment w, long rowBytes, int cols, int rows, int r0, int r1, float[] packed, int t0, int tn,
                      float[] out) {
            if (gemm == null) throw new IllegalStateException("no native blocked product for this layout");
            if (r0 < 0 || r1 > rows || r0 > r1 || tn < 0 || tn > BlockedMatmul.NB || t0 < 0
                    || (long) cols * BlockedMatmul.NB > packed.length || (long) (t0 + tn) * rows > out.length
                    || w.byteSize() < rowBytes * rows) {
                throw new IndexOutOfBoundsException("native blocked product: rows [" + r0 + ", " + r1 + ") of " + rows
                        + " × " + cols + ", tokens [" + t0 + ", " + (t0 + tn) + "), packed " + packed.length + ", out "
                        + out.length + ", weights " + w.byteSize() + " B");
            }
            if (tn == 0 || r0 == r1) return;
            try {
                gemm.invokeExact(w, (long) cols, rows, r0, r1, MemorySegment.ofArray(packed), t0, tn, MemorySegment.ofArray(out));
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }

        /**
         * Checks every bound the native loop relies on, then runs it; {@code rowBytes} is one stored row's size.
         * The heap arrays are passed in place (a critical call: no copy, no safepoint while it runs).
         */
        void rows(MemorySegment w, long rowBytes, int cols, int rows, int r0, int r1, float[] x, int n, float[] out) {
            if (r0 < 0 || r1 > rows || r0 > r1 || n < 0 || (long) n * cols > x.length || (long) n * rows > out.length
                    || w.byteSize() < rowBytes * rows) {
                throw new IndexOutOfBoundsException("native product: rows [" + r0 + ", " + r1 + ") of " + rows + " × "
                        + cols + ", " + n + " inputs, x " + x.length + ", out " + out.length + ", weights " + w.byteSize() + " B");
            }
            if (n == 0 || r0 == r1) return;
            try {
                handle.invokeExact(w, (long) cols, rows, r0, r1, MemorySegment.ofArray(x), n, MemorySegment.ofArray(out));
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Throwable e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** Sums {@code segment} with the native vector loop (the streaming-read probe's body). */
    float readSum(MemorySegment segment) {
        try {
            return (float) readSum.invokeExact(segment, segment.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    private static Choice load() {
        String choice = System.getProperty("cm3leon.cpu.kernels", "auto").trim();
        String why = null;
        if (choice.equalsIgnoreCase("java")) {
            why = "-Dcm3leon.cpu.kernels=java";
        } else if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")
                || !System.getProperty("os.arch", "").matches("amd64|x86_64")) {
            why = "no native kernels for " + System.getProperty("os.name") + "/" + System.getProperty("os.arch");
        } else if (!NativeKernels.class.getModule().isNativeAccessEnabled()) {
            why = "native access not enabled: run with --enable-native-access=" + moduleName();
        }
        if (why != null) return unavailable(why);
        try {
            boolean extracted = choice.equalsIgnoreCase("auto");
            Path library = extracted ? extractFromClassPath() : Path.of(choice);
            if (library == null) return unavailable(RESOURCE + " not on the class path (add cm3leon-kernels)");
            SymbolLookup lookup;
            try {
                lookup = SymbolLookup.libraryLookup(library, Arena.global());
            } finally {
                if (extracted) Files.deleteIfExists(library);   // mapped by now, or not loadable: nothing left behind
            }
            MethodHandle level = Linker.nativeLinker().downcallHandle(lookup.findOrThrow("cm3_cpu_level"),
                    FunctionDescriptor.of(JAVA_INT));
            int cpu = Math.min(ISA.length - 1, (int) level.invokeExact());
            if (cpu < 1) return unavailable("the CPU lacks AVX2 with FMA and F16C");
            NativeKernels k = bind(lookup, ISA[cpu], promptMode());
            log.info("CPU decode products: {} (bf16, Q8_0, Q4_0)", k.description);
            return new Choice(k, k.description, lookup, cpu);
        } catch (Throwable e) {
            return unavailable("cannot load the native kernels: " + e);
        }
    }

    private static NativeKernels bind(SymbolLookup lookup, String isa, String mode) {
        Linker linker = Linker.nativeLinker();
        Linker.Option critical = Linker.Option.critical(true);
        boolean wide = isa.equals("avx512") && !mode.equals("f32");
        boolean int8 = wide && has(lookup, "cm3_cpu_has_vnni");
        boolean pairs = wide && mode.equals("bf16") && has(lookup, "cm3_cpu_has_avx512bf16");
        return new NativeKernels("native " + isa + (int8 ? " + vnni" : "") + (pairs ? " + bf16 inputs" : ""), isa.equals("avx512") ? 32 : 16,
                linker.downcallHandle(lookup.findOrThrow("cm3_dots_bf16_" + isa), DOTS, critical),
                linker.downcallHandle(lookup.findOrThrow("cm3_dots_q8_0_" + isa), DOTS, critical),
                linker.downcallHandle(lookup.findOrThrow("cm3_dots_q4_0_" + isa), DOTS, critical),
                linker.downcallHandle(lookup.findOrThrow("cm3_gemm_bf16_" + isa), GEMM, critical),
                linker.downcallHandle(lookup.findOrThrow("cm3_gemm_q8_0_" + isa), GEMM, critical),
                linker.downcallHandle(lookup.findOrThrow("cm3_gemm_q4_0_" + isa), GEMM, critical),
                linker.downcallHandle(lookup.findOrThrow("cm3_read_sum_" + isa), FunctionDescriptor.of(JAVA_FLOAT, ADDRESS, JAVA_LONG)),
                int8 ? linker.downcallHandle(lookup.findOrThrow("cm3_gemm_int8_q8_0_vnni"), GEMM_INT8, critical) : null,
                int8 ? linker.downcallHandle(lookup.findOrThrow("cm3_gemm_int8_q4_0_vnni"), GEMM_INT8, critical) : null,
                pairs ? linker.downcallHandle(lookup.findOrThrow("cm3_gemm_bf16_bf16in_avx512bf16"), GEMM, critical) : null);
    }

    /** Whether the CPU feature test {@code symbol} says yes (it also says no where the AVX-512 level is capped). */
    private static boolean has(SymbolLookup lookup, String symbol) {
        try {
            MethodHandle h = Linker.nativeLinker().downcallHandle(lookup.findOrThrow(symbol), FunctionDescriptor.of(JAVA_INT));
            return (int) h.invokeExact() == 1;
        } catch (Throwable e) {
            return false;
        }
    }

    private static Choice unavailable(String why) {
        log.info("CPU decode products: Java kernels ({})", why);
        return new Choice(null, "java (" + why + ")", null, 0);
    }

    private static String moduleName() {
        Module m = NativeKernels.class.getModule();
        return m.isNamed() ? m.getName() : "ALL-UNNAMED";
    }

    /** Copies the library out of its jar into a private temporary file (a shared library must be a file to load). */
    private static Path extractFromClassPath() throws IOException {
        ClassLoader loader = NativeKernels.class.getClassLoader();
        if (loader == null) loader = ClassLoader.getSystemClassLoader();
        try (InputStream in = loader.getResourceAsStream(RESOURCE)) {
            if (in == null) return null;
            Path tmp = Files.createTempFile("cm3leon-cpu", ".so");
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return tmp;
        }
    }
}
