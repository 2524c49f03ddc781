package dev.cm3leon.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The {@link Device} the tests use without a GPU: memory is host memory (new allocations filled with NaN bytes, as
 * stale device memory would be garbage), launches run the packaged kernel sources on {@link KernelEmulator}'s CPU
 * emulator, GEMMs run a column-major reference with cuBLAS's parameters, and capture records launches with their
 * arguments copied, as a CUDA graph holds them. Everything runs synchronously, in stream order.
 */
final class EmulatedDevice implements Device {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MALLOC = LINKER.downcallHandle(LINKER.defaultLookup().find("malloc").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FREE = LINKER.downcallHandle(LINKER.defaultLookup().find("free").orElseThrow(),
            FunctionDescriptor.ofVoid(JAVA_LONG));

    private final MethodHandle launch, gemm, hasKernel;
    private final Arena arena = Arena.ofShared();
    private final Map<Long, Long> sizes = new HashMap<>();
    private final MemorySegment error = arena.allocate(1024);
    private List<Runnable> recording;

    private record EmuKernel(String name, MemorySegment cName) implements Kernel {
    }

    EmulatedDevice(Path library) {
        SymbolLookup lib = SymbolLookup.libraryLookup(library, Arena.global());
        launch = LINKER.downcallHandle(lib.find("emu_launch").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        gemm = LINKER.downcallHandle(lib.find("emu_gemm").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_FLOAT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                JAVA_FLOAT, JAVA_LONG, JAVA_INT, JAVA_INT));
        hasKernel = LINKER.downcallHandle(lib.find("emu_has_kernel").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    @Override
    public String description() {
        return "CPU emulator of the CUDA kernels";
    }

    @Override
    public int multiprocessors() {
        return 8;
    }

    @Override
    public int maxSharedMemoryPerBlock() {
        return 227 * 1024;
    }

    @Override
    public synchronized long allocate(long bytes) {
        try {
            long p = (long) MALLOC.invokeExact(bytes);
            if (p == 0) throw new CudaException("emulated allocation of " + bytes + " bytes failed");
            MemorySegment.ofAddress(p).reinterpret(bytes).fill((byte) 0xff);
            sizes.put(p, bytes);
            return p;
        } catch (Throwable t) {
            throw new CudaException("malloc failed", t);
        }
    }

    @Override
    public synchronized void free(long pointer) {
        if (sizes.remove(pointer) == null) throw new CudaException("free of an unknown pointer " + pointer);
        try {
            FREE.invokeExact(pointer);
        } catch (Throwable t) {
            throw new CudaException("free failed", t);
        }
    }

    private MemorySegment at(long pointer, long bytes) {
        return MemorySegment.ofAddress(pointer).reinterpret(bytes);
    }

    @Override
    public void upload(long dst, MemorySegment src) {
        at(dst, src.byteSize()).copyFrom(src);
    }

    @Override
    public void download(MemorySegment dst, long src) {
        dst.copyFrom(at(src, dst.byteSize()));
    }

    @Override
    public void uploadAsync(long dst, MemorySegment pinnedSrc) {
        record(() -> upload(dst, pinnedSrc));
    }

    @Override
    public void downloadAsync(MemorySegment pinnedDst, long src) {
        record(() -> download(pinnedDst, src));
    }

    @Override
    public void copyAsync(long dst, long src, long bytes) {
        record(() -> at(dst, bytes).copyFrom(at(src, bytes)));
    }

    @Override
    public void fill32Async(long dst, int value, long count) {
        record(() -> {
            MemorySegment s = at(dst, 4 * count);
            for (long i = 0; i < count; i++) s.setAtIndex(JAVA_INT, i, value);
        });
    }

    private void record(Runnable op) {
        if (recording != null) recording.add(op);
        else op.run();
    }

    @Override
    public MemorySegment allocatePinned(long bytes) {
        return at(allocate(bytes), bytes);
    }

    @Override
    public void freePinned(MemorySegment pinned) {
        free(pinned.address());
    }

    @Override
    public Kernel kernel(String name, int sharedBytes) {
        if (sharedBytes > maxSharedMemoryPerBlock()) throw new CudaException(name + " needs " + sharedBytes + " bytes of shared memory");
        MemorySegment cName = arena.allocateFrom(name);
        try {
            if ((int) hasKernel.invokeExact(cName) == 0) throw new CudaException("no kernel named " + name + " in the emulator");
        } catch (CudaException e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("emu_has_kernel failed", t);
        }
        return new EmuKernel(name, cName);
    }

    @Override
    public void launch(Kernel kernel, int gridX, int gridY, int gridZ, int threads, int sharedBytes, KernelArgs args) {
        if (recording != null) {
            KernelArgs copy = args.copy(arena);  // a graph holds the values of capture time
            recording.add(() -> launchNow((EmuKernel) kernel, gridX, gridY, gridZ, threads, sharedBytes, copy));
        } else {
            launchNow((EmuKernel) kernel, gridX, gridY, gridZ, threads, sharedBytes, args);
        }
    }

    private void launchNow(EmuKernel k, int gx, int gy, int gz, int threads, int shared, KernelArgs args) {
        int rc;
        try {
            rc = (int) launch.invokeExact(k.cName(), gx, gy, gz, threads, 1, 1, shared, args.pointers(), error, (int) error.byteSize());
        } catch (Throwable t) {
            throw new CudaException("emu_launch failed", t);
        }
        if (rc != 0) throw new CudaException("emulated launch of " + k.name() + " failed: " + error.getString(0));
    }

    @Override
    public Blas blas() {
        return new Blas() {
            @Override
            public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, ElementType aType, int lda,
                             long b, ElementType bType, int ldb, float beta, long c, ElementType cType, int ldc) {
                record(() -> {
                    try {
                        int rc = (int) gemm.invokeExact(transA ? 1 : 0, transB ? 1 : 0, m, n, k, 1f, a, aType.cudaType, lda,
                                b, bType.cudaType, ldb, beta, c, cType.cudaType, ldc);
                        if (rc != 0) throw new CudaException("emu_gemm failed");
                    } catch (CudaException e) {
                        throw e;
                    } catch (Throwable t) {
                        throw new CudaException("emu_gemm failed", t);
                    }
                });
            }

            @Override
            public void gemmStridedBatched(boolean transA, boolean transB, int m, int n, int k, long a, ElementType aType,
                                           int lda, long strideA, long b, ElementType bType, int ldb, long strideB,
                                           float beta, long c, ElementType cType, int ldc, long strideC, int batch) {
                for (int i = 0; i < batch; i++) {
                    gemm(transA, transB, m, n, k, a + i * strideA * aType.bytes, aType, lda, b + i * strideB * bType.bytes,
                            bType, ldb, beta, c + i * strideC * cType.bytes, cType, ldc);
                }
            }
        };
    }

    @Override
    public void synchronize() {
    }

    @Override
    public Graph capture(Runnable work) {
        List<Runnable> ops = new ArrayList<>();
        recording = ops;
        try {
            work.run();
        } finally {
            recording = null;
        }
        return new Graph() {
            @Override
            public void launch() {
                ops.forEach(Runnable::run);
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public float time(Runnable work) {
        long t0 = System.nanoTime();
        work.run();
        return (System.nanoTime() - t0) / 1e6f;
    }

    @Override
    public void close() {
        for (long p : new ArrayList<>(sizes.keySet())) free(p);
        arena.close();
    }
}
