package dev.cm3leon.cuda;

import java.lang.foreign.MemorySegment;

/**
 * One GPU as the CUDA engine uses it: memory, copies, kernel launches and matrix products on one stream, in
 * stream order. Device pointers are {@code long}s. {@link CudaDevice} is the real one; the tests also run the engine
 * on a CPU emulator of the same kernels through this interface.
 */
public interface Device extends AutoCloseable {
    /** "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)" or the like. */
    String description();

    int multiprocessors();

    /** The most dynamic shared memory one block may opt into. */
    int maxSharedMemoryPerBlock();

    long allocate(long bytes);

    void free(long pointer);

    /** Copies host memory (any kind) to the device and waits. */
    void upload(long dst, MemorySegment src);

    /** Waits for the stream, then copies device memory to the host. */
    void download(MemorySegment dst, long src);

    /** Stream-ordered copy from page-locked host memory ({@link #allocatePinned}). */
    void uploadAsync(long dst, MemorySegment pinnedSrc);

    /** Stream-ordered copy to page-locked host memory; valid after {@link #synchronize}. */
    void downloadAsync(MemorySegment pinnedDst, long src);

    void copyAsync(long dst, long src, long bytes);

    /** Sets {@code count} 32-bit words to {@code value} (test poisoning, zeroing). */
    void fill32Async(long dst, int value, long count);

    MemorySegment allocatePinned(long bytes);

    void freePinned(MemorySegment pinned);

    /** A kernel by its {@code extern "C"} name, allowed {@code sharedBytes} of dynamic shared memory. */
    Kernel kernel(String name, int sharedBytes);

    void launch(Kernel kernel, int gridX, int gridY, int gridZ, int threads, int sharedBytes, KernelArgs args);

    /** cuBLAS (or its stand-in), or null when none is available. */
    Blas blas();

    void synchronize();

    /**
     * Records {@code work} (launches only) into a graph that replays it with the same arguments, or returns null
     * when this device cannot capture. Arguments are taken by value at capture: whatever changes per replay must be
     * read by the kernels from device memory.
     */
    Graph capture(Runnable work);

    /** Milliseconds the stream spends on {@code work} (events around it). */
    float time(Runnable work);

    @Override
    void close();

    /** A resolved kernel. */
    interface Kernel {
        String name();
    }

    /** A captured sequence of launches. */
    interface Graph extends AutoCloseable {
        void launch();

        @Override
        void close();
    }

    /** The matrix products of cuBLAS the engine needs, with cuBLAS's column-major meaning. */
    interface Blas {
        /** C = op(A)·op(B) + beta·C, f32 accumulation. */
        void gemm(boolean transA, boolean transB, int m, int n, int k, long a, ElementType aType, int lda, long b,
                  ElementType bType, int ldb, float beta, long c, ElementType cType, int ldc);

        void gemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, long a, ElementType aType, int lda,
                                long strideA, long b, ElementType bType, int ldb, long strideB, float beta, long c,
                                ElementType cType, int ldc, long strideC, int batch);
    }
}
