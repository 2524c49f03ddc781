package dev.cm3leon.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import static java.lang.foreign.ValueLayout.ADDRESS;

/**
 * A GPU through the CUDA driver: its primary context, one non-blocking stream, the packaged kernel modules and a
 * cuBLAS handle on that stream. Kernel images are tried in order: the fatbin (SASS for sm_80/sm_90, or the driver
 * JIT-compiling its compute_90 PTX), the PTX for the highest compute capability the device has, then the source
 * compiled by NVRTC for exactly this device.
 */
public final class CudaDevice implements Device {
    private static final Logger LOG = LoggerFactory.getLogger(CudaDevice.class);
    private static final int STATIC_SHARED_LIMIT = 48 * 1024;

    private final CudaDriver cu;
    private final int device;
    private final MemorySegment context, stream;
    private final String description;
    private final int multiprocessors, maxShared, major, minor;
    private final List<MemorySegment> modules = new ArrayList<>();
    private final Map<String, CudaKernel> kernels = new ConcurrentHashMap<>();
    private final Cublas blas;
    private final ThreadLocal<Boolean> bound = ThreadLocal.withInitial(() -> false);
    private boolean closed;

    private record CudaKernel(String name, MemorySegment function, int[] sharedOptIn) implements Kernel {
    }

    CudaDevice(CudaDriver cu, int ordinal, List<String> cublasCandidates) {
        this.cu = cu;
        int rc = cu.init();
        if (rc != CudaDriver.CUDA_SUCCESS) throw new CudaException("cuInit failed: " + cu.describe(rc));
        this.device = cu.device(ordinal);
        this.major = cu.attribute(device, CudaDriver.ATTR_COMPUTE_CAPABILITY_MAJOR);
        this.minor = cu.attribute(device, CudaDriver.ATTR_COMPUTE_CAPABILITY_MINOR);
        this.multiprocessors = cu.attribute(device, CudaDriver.ATTR_MULTIPROCESSOR_COUNT);
        this.maxShared = cu.attribute(device, CudaDriver.ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
        this.description = cu.deviceName(device) + " (sm_" + major + minor + ", " + multiprocessors + " SMs, "
                + cu.totalMemory(device) / (1L << 30) + " GiB)";
        this.context = cu.retainPrimaryContext(device);
        bind();
        this.stream = cu.createStream();
        try {
            loadModules(KernelImages.load());
            this.blas = Cublas.open(stream, cublasCandidates).orElse(null);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        LOG.debug("opened {}; cuBLAS: {}", description, blas == null ? "none" : blas.library());
    }

    /** Opens GPU {@code ordinal}; fails with a {@link CudaException} when the driver or device is missing. */
    public static CudaDevice open(int ordinal) {
        CudaDriver cu = CudaDriver.open().orElseThrow(() -> new CudaException("no CUDA driver (" + CudaDriver.LIBRARY + " not found)"));
        return new CudaDevice(cu, ordinal, Cublas.candidates());
    }

    /** The context must be current on the calling thread; each thread sets it once. */
    private void bind() {
        if (!bound.get()) {
            cu.setCurrent(context);
            bound.set(true);
        }
    }

    private void loadModules(KernelImages images) {
        Optional<Nvrtc> nvrtc = Optional.empty();
        boolean nvrtcTried = false;
        for (KernelImages.Op op : images.ops()) {
            List<String> failures = new ArrayList<>();
            MemorySegment module = MemorySegment.NULL;
            if (op.fatbin().isPresent()) module = tryLoad(images.bytes(op.fatbin().get()), op.fatbin().get(), failures);
            Optional<String> ptx = major >= 9 ? op.ptx90().or(op::ptx80) : op.ptx80();
            if (module.equals(MemorySegment.NULL) && ptx.isPresent()) module = tryLoad(images.ptx(ptx.get()), ptx.get(), failures);
            if (module.equals(MemorySegment.NULL)) {
                if (!nvrtcTried) {
                    nvrtc = Nvrtc.open();
                    nvrtcTried = true;
                }
                if (nvrtc.isEmpty()) {
                    throw new CudaException("kernel module " + op.name() + ": no packaged image fits sm_" + major + minor
                            + " " + failures + " and NVRTC (libnvrtc.so) is not available to compile " + op.source());
                }
                byte[] cubin = nvrtc.get().compileToCubin(op.source(), images.text(op.source()),
                        List.<String[]>of(new String[]{KernelImages.HEADER, images.text(KernelImages.HEADER)}), major, minor, op.fastMath());
                module = tryLoad(cubin, op.source() + " (NVRTC)", failures);
                if (module.equals(MemorySegment.NULL)) throw new CudaException("kernel module " + op.name() + " does not load: " + failures);
                LOG.info("compiled {} with NVRTC for sm_{}{}", op.source(), major, minor);
            }
            modules.add(module);
        }
    }

    private MemorySegment tryLoad(byte[] image, String what, List<String> failures) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(image.length, 16);
            data.copyFrom(MemorySegment.ofArray(image));
            MemorySegment out = a.allocate(ADDRESS);
            int rc = cu.loadModule(data, out);
            if (rc == CudaDriver.CUDA_SUCCESS) return out.get(ADDRESS, 0);
            failures.add(what + ": " + cu.describe(rc));
            return MemorySegment.NULL;
        }
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    @Override
    public int maxSharedMemoryPerBlock() {
        return maxShared;
    }

    public String blasLibrary() {
        return blas == null ? "none" : blas.library();
    }

    /** Free and total device memory in bytes. */
    public long[] memoryInfo() {
        bind();
        return cu.memoryInfo();
    }

    @Override
    public long allocate(long bytes) {
        bind();
        return cu.allocate(bytes);
    }

    @Override
    public void free(long pointer) {
        bind();
        cu.free(pointer);
    }

    /**
     * Copies on the engine's stream, then waits: a plain cuMemcpyHtoD would run on the legacy stream, which a
     * non-blocking stream does not wait for, and from pageable memory it returns before the DMA has finished.
     */
    @Override
    public void upload(long dst, MemorySegment src) {
        bind();
        if (src.isNative()) {
            cu.copyHostToDeviceAsync(dst, src, src.byteSize(), stream);
            cu.synchronize(stream);
            return;
        }
        try (Arena a = Arena.ofConfined()) {  // heap arrays cannot be handed to native code
            cu.copyHostToDeviceAsync(dst, a.allocate(src.byteSize(), 16).copyFrom(src), src.byteSize(), stream);
            cu.synchronize(stream);
        }
    }

    @Override
    public void download(MemorySegment dst, long src) {
        bind();
        if (dst.isNative()) {
            cu.copyDeviceToHostAsync(dst, src, dst.byteSize(), stream);
            cu.synchronize(stream);
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(dst.byteSize(), 16);
            cu.copyDeviceToHostAsync(tmp, src, dst.byteSize(), stream);
            cu.synchronize(stream);
            dst.copyFrom(tmp);
        }
    }

    @Override
    public void uploadAsync(long dst, MemorySegment pinnedSrc) {
        bind();
        cu.copyHostToDeviceAsync(dst, pinnedSrc, pinnedSrc.byteSize(), stream);
    }

    @Override
    public void downloadAsync(MemorySegment pinnedDst, long src) {
        bind();
        cu.copyDeviceToHostAsync(pinnedDst, src, pinnedDst.byteSize(), stream);
    }

    @Override
    public void copyAsync(long dst, long src, long bytes) {
        bind();
        cu.copyDeviceToDeviceAsync(dst, src, bytes, stream);
    }

    @Override
    public void fill32Async(long dst, int value, long count) {
        bind();
        cu.fill32Async(dst, value, count, stream);
    }

    @Override
    public MemorySegment allocatePinned(long bytes) {
        bind();
        return cu.allocateHost(bytes);
    }

    @Override
    public void freePinned(MemorySegment pinned) {
        bind();
        cu.freeHost(pinned);
    }

    @Override
    public Kernel kernel(String name, int sharedBytes) {
        bind();
        CudaKernel k = kernels.computeIfAbsent(name, n -> {
            for (MemorySegment m : modules) {
                MemorySegment f = cu.function(m, n);
                if (!f.equals(MemorySegment.NULL)) return new CudaKernel(n, f, new int[]{STATIC_SHARED_LIMIT});
            }
            throw new CudaException("no kernel named " + n + " in the packaged modules");
        });
        synchronized (k) {
            if (sharedBytes > k.sharedOptIn()[0]) {
                if (sharedBytes > maxShared) {
                    throw new CudaException(name + " needs " + sharedBytes + " bytes of shared memory; " + description
                            + " allows " + maxShared);
                }
                cu.setMaxDynamicSharedMemory(k.function(), name, sharedBytes);
                k.sharedOptIn()[0] = sharedBytes;
            }
        }
        return k;
    }

    @Override
    public void launch(Kernel kernel, int gridX, int gridY, int gridZ, int threads, int sharedBytes, KernelArgs args) {
        bind();
        CudaKernel k = (CudaKernel) kernel;
        cu.launch(k.name(), k.function(), gridX, gridY, gridZ, threads, 1, 1, sharedBytes, stream, args.pointers());
    }

    @Override
    public Blas blas() {
        return blas;
    }

    @Override
    public void synchronize() {
        bind();
        cu.synchronize(stream);
    }

    @Override
    public Graph capture(Runnable work) {
        bind();
        cu.beginCapture(stream);
        MemorySegment graph;
        try {
            work.run();
        } catch (RuntimeException e) {
            try {
                cu.destroyGraph(cu.endCapture(stream), MemorySegment.NULL);
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        graph = cu.endCapture(stream);
        MemorySegment exec;
        try {
            exec = cu.instantiate(graph);
        } catch (CudaException e) {
            cu.destroyGraph(graph, MemorySegment.NULL);
            LOG.warn("CUDA graph not instantiated, steps run launch by launch: {}", e.getMessage());
            return null;
        }
        return new Graph() {
            private boolean open = true;

            @Override
            public void launch() {
                bind();
                cu.launchGraph(exec, stream);
            }

            @Override
            public void close() {
                if (open) {
                    open = false;
                    bind();
                    cu.destroyGraph(graph, exec);
                }
            }
        };
    }

    @Override
    public float time(Runnable work) {
        bind();
        MemorySegment start = cu.createEvent(), end = cu.createEvent();
        try {
            cu.record(start, stream);
            work.run();
            cu.record(end, stream);
            return cu.elapsedMillis(start, end);
        } finally {
            cu.destroyEvent(start);
            cu.destroyEvent(end);
        }
    }

    /** Bytes per second of a device-to-device copy of {@code bytes} (read + write counted), best of {@code runs}. */
    public double copyBandwidth(long bytes, int runs) {
        long a = allocate(bytes), b = allocate(bytes);
        try {
            copyAsync(b, a, bytes);  // warm up
            float best = Float.MAX_VALUE;
            for (int i = 0; i < runs; i++) best = Math.min(best, time(() -> copyAsync(b, a, bytes)));
            return 2.0 * bytes / (best / 1e3);
        } finally {
            free(a);
            free(b);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        bind();
        if (blas != null) blas.close();
        for (MemorySegment m : modules) cu.unloadModule(m);
        if (stream != null) cu.destroyStream(stream);
        cu.releasePrimaryContext(device);
    }

}
