package dev.cm3leon.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM downcalls into cuBLAS for the projections of prefill: {@code cublasGemmEx} (bf16 or f32 in, f32 compute and
 * out) and its strided-batched form. One handle per engine, bound to the engine's stream and context. Found as
 * {@code libcublas.so.13}, then {@code .so.12}, or at the path in {@code -Dcm3leon.cublas} /
 * {@code CM3LEON_CUBLAS} (e.g. the copy PyTorch's nvidia-cublas wheel ships).
 */
final class Cublas implements Device.Blas, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Cublas.class);

    static final int OP_N = 0, OP_T = 1;
    static final int COMPUTE_32F = 68;
    static final int GEMM_DEFAULT = -1;
    static final int DEFAULT_MATH = 0;

    private final String library;
    private final MethodHandle destroy, setStream, gemmEx, gemmStridedBatchedEx, statusString;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment one, zero;  // host scalars for alpha and beta (the default host pointer mode)

    private Cublas(NativeLibrary lib, MemorySegment stream) {
        this.library = lib.name;
        MethodHandle create = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cublasCreate_v2");
        destroy = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS), "cublasDestroy_v2");
        setStream = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), "cublasSetStream_v2");
        MethodHandle setMathMode = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cublasSetMathMode");
        statusString = lib.function(FunctionDescriptor.of(ADDRESS, JAVA_INT), "cublasGetStatusString");
        gemmEx = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT), "cublasGemmEx");
        gemmStridedBatchedEx = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT),
                "cublasGemmStridedBatchedEx");
        one = arena.allocateFrom(JAVA_FLOAT, 1f);
        zero = arena.allocateFrom(JAVA_FLOAT, 0f);
        MemorySegment out = arena.allocate(ADDRESS);
        check("cublasCreate", invoke(create, out));
        handle = out.get(ADDRESS, 0);
        check("cublasSetStream", invoke(setStream, handle, stream));
        // f32 stays f32 (no TF32) so that f32 checkpoints meet the CPU engine's tolerances; bf16 uses tensor cores anyway.
        check("cublasSetMathMode", invoke(setMathMode, handle, DEFAULT_MATH));
    }

    /** Library names to try, most specific first. */
    static List<String> candidates() {
        List<String> c = new ArrayList<>();
        c.add(System.getProperty("cm3leon.cublas"));
        c.add(System.getenv("CM3LEON_CUBLAS"));
        c.add("libcublas.so.13");
        c.add("libcublas.so.12");
        return c;
    }

    /** A handle on {@code stream} (the context must be current), or empty when no cuBLAS library is found. */
    static Optional<Cublas> open(MemorySegment stream, List<String> candidates) {
        Optional<NativeLibrary> lib = NativeLibrary.open(candidates);
        if (lib.isEmpty()) {
            LOG.warn("cuBLAS not found (libcublas.so.13 or .so.12; set -Dcm3leon.cublas=/path/to/libcublas.so.N): "
                    + "prefill runs on the skinny-product kernel, which is correct but slow");
            return Optional.empty();
        }
        return Optional.of(new Cublas(lib.get(), stream));
    }

    String library() {
        return library;
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, ElementType aType, int lda, long b,
                     ElementType bType, int ldb, float beta, long c, ElementType cType, int ldc) {
        MemorySegment betaPtr = beta == 0f ? zero : beta == 1f ? one : arena.allocateFrom(JAVA_FLOAT, beta);
        int status;
        try {
            status = (int) gemmEx.invokeExact(handle, transA ? OP_T : OP_N, transB ? OP_T : OP_N, m, n, k, one, a,
                    aType.cudaType, lda, b, bType.cudaType, ldb, betaPtr, c, cType.cudaType, ldc, COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new CudaException("cublasGemmEx could not be called: " + t, t);
        }
        if (status != 0) {
            throw new CudaException("cublasGemmEx(m=" + m + ", n=" + n + ", k=" + k + ", " + aType + "×" + bType + "→"
                    + cType + ") failed: " + status(status));
        }
    }

    @Override
    public void gemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, long a, ElementType aType,
                                   int lda, long strideA, long b, ElementType bType, int ldb, long strideB, float beta,
                                   long c, ElementType cType, int ldc, long strideC, int batch) {
        MemorySegment betaPtr = beta == 0f ? zero : beta == 1f ? one : arena.allocateFrom(JAVA_FLOAT, beta);
        int status;
        try {
            status = (int) gemmStridedBatchedEx.invokeExact(handle, transA ? OP_T : OP_N, transB ? OP_T : OP_N, m, n, k,
                    one, a, aType.cudaType, lda, strideA, b, bType.cudaType, ldb, strideB, betaPtr, c, cType.cudaType,
                    ldc, strideC, batch, COMPUTE_32F, GEMM_DEFAULT);
        } catch (Throwable t) {
            throw new CudaException("cublasGemmStridedBatchedEx could not be called: " + t, t);
        }
        if (status != 0) throw new CudaException("cublasGemmStridedBatchedEx(batch " + batch + ") failed: " + status(status));
    }

    private void check(String call, int status) {
        if (status != 0) throw new CudaException(call + " failed: " + status(status));
    }

    private String status(int status) {
        try {
            return NativeLibrary.string((MemorySegment) statusString.invokeExact(status)) + " (" + status + ")";
        } catch (Throwable t) {
            return "cublasStatus " + status;
        }
    }

    private static int invoke(MethodHandle h, Object... args) {
        try {
            return (int) h.invokeWithArguments(args);
        } catch (Throwable t) {
            throw new CudaException("cuBLAS call failed: " + t, t);
        }
    }

    @Override
    public void close() {
        invoke(destroy, handle);
        arena.close();
    }
}
