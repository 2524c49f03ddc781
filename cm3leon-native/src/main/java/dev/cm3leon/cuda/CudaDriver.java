package dev.cm3leon.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM downcalls into the CUDA driver API ({@code libcuda.so.1}). Device pointers are {@code long}s; opaque handles
 * (context, stream, module, function, graph, event) are addresses. Every failing call throws a
 * {@link CudaException} naming the call and the driver's error name and text.
 *
 * <p>Not LWJGL's {@code org.lwjgl.cuda.CU}: its calls go through LWJGL's own JNI library ({@code liblwjgl.so}, a
 * separate natives artifact per platform), which would have to be shipped and extracted; FFM reaches the driver
 * directly with nothing to ship, and a missing driver is a clean probe result instead of a class left broken.
 */
final class CudaDriver {
    static final String LIBRARY = "libcuda.so.1";

    static final int CUDA_SUCCESS = 0;
    static final int CUDA_ERROR_NO_DEVICE = 100;
    static final int CUDA_ERROR_INVALID_PTX = 218;
    static final int CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222;
    static final int CUDA_ERROR_NO_BINARY_FOR_GPU = 209;
    static final int ATTR_MULTIPROCESSOR_COUNT = 16;
    static final int ATTR_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int ATTR_COMPUTE_CAPABILITY_MINOR = 76;
    static final int ATTR_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
    static final int FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
    static final int STREAM_NON_BLOCKING = 1;
    static final int STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;

    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDeviceTotalMem, cuGetErrorName, cuGetErrorString, cuDevicePrimaryCtxRetain,
            cuDevicePrimaryCtxRelease, cuCtxSetCurrent, cuStreamCreate, cuStreamDestroy, cuStreamSynchronize,
            cuMemAlloc, cuMemFree, cuMemAllocHost, cuMemFreeHost, cuMemGetInfo, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync,
            cuMemcpyDtoDAsync, cuMemsetD32Async, cuModuleLoadData,
            cuModuleUnload, cuModuleGetFunction, cuFuncSetAttribute, cuLaunchKernel, cuStreamBeginCapture,
            cuStreamEndCapture, cuGraphInstantiate, cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy, cuEventCreate,
            cuEventRecord, cuEventSynchronize, cuEventElapsedTime, cuEventDestroy;

    private CudaDriver(NativeLibrary lib) {
        FunctionDescriptor iI = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
        FunctionDescriptor iA = FunctionDescriptor.of(JAVA_INT, ADDRESS);
        FunctionDescriptor iAA = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
        cuInit = lib.function(iI, "cuInit");
        cuDriverGetVersion = lib.function(iA, "cuDriverGetVersion");
        cuDeviceGetCount = lib.function(iA, "cuDeviceGetCount");
        cuDeviceGet = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceGet");
        cuDeviceGetName = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetName");
        cuDeviceGetAttribute = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuDeviceGetAttribute");
        cuDeviceTotalMem = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDeviceTotalMem_v2");
        cuGetErrorName = lib.function(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorName");
        cuGetErrorString = lib.function(FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), "cuGetErrorString");
        cuDevicePrimaryCtxRetain = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuDevicePrimaryCtxRetain");
        cuDevicePrimaryCtxRelease = lib.function(iI, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
        cuCtxSetCurrent = lib.function(iA, "cuCtxSetCurrent");
        cuStreamCreate = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuStreamCreate");
        cuStreamDestroy = lib.function(iA, "cuStreamDestroy_v2", "cuStreamDestroy");
        cuStreamSynchronize = lib.function(iA, "cuStreamSynchronize");
        cuMemAlloc = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), "cuMemAlloc_v2");
        cuMemFree = lib.function(FunctionDescriptor.of(JAVA_INT, JAVA_LONG), "cuMemFree_v2");
        cuMemAllocHost = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), "cuMemAllocHost_v2");
        cuMemFreeHost = lib.function(iA, "cuMemFreeHost");
        cuMemGetInfo = lib.function(iAA, "cuMemGetInfo_v2");
        cuMemcpyHtoDAsync = lib.function(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS), "cuMemcpyHtoDAsync_v2");
        cuMemcpyDtoHAsync = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS), "cuMemcpyDtoHAsync_v2");
        cuMemcpyDtoDAsync = lib.function(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), "cuMemcpyDtoDAsync_v2");
        cuMemsetD32Async = lib.function(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS), "cuMemsetD32Async");
        cuModuleLoadData = lib.function(iAA, "cuModuleLoadData");
        cuModuleUnload = lib.function(iA, "cuModuleUnload");
        cuModuleGetFunction = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), "cuModuleGetFunction");
        cuFuncSetAttribute = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), "cuFuncSetAttribute");
        cuLaunchKernel = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS), "cuLaunchKernel");
        cuStreamBeginCapture = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuStreamBeginCapture_v2", "cuStreamBeginCapture");
        cuStreamEndCapture = lib.function(iAA, "cuStreamEndCapture");
        cuGraphInstantiate = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG), "cuGraphInstantiateWithFlags");
        cuGraphLaunch = lib.function(iAA, "cuGraphLaunch");
        cuGraphExecDestroy = lib.function(iA, "cuGraphExecDestroy");
        cuGraphDestroy = lib.function(iA, "cuGraphDestroy");
        cuEventCreate = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), "cuEventCreate");
        cuEventRecord = lib.function(iAA, "cuEventRecord");
        cuEventSynchronize = lib.function(iA, "cuEventSynchronize");
        cuEventElapsedTime = lib.function(FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS), "cuEventElapsedTime_v2", "cuEventElapsedTime");
        cuEventDestroy = lib.function(iA, "cuEventDestroy_v2", "cuEventDestroy");
    }

    /** The driver if {@code libcuda.so.1} opens here; empty when it is absent (no exception escapes). */
    static Optional<CudaDriver> open() {
        return open(List.of(LIBRARY));
    }

    /** The driver API from the first of {@code libraries} that opens (tests use a stand-in library). */
    static Optional<CudaDriver> open(List<String> libraries) {
        return NativeLibrary.open(libraries).map(CudaDriver::new);
    }

    // ---- errors ----------------------------------------------------------------------------------------------

    void check(String call, int result) {
        if (result != CUDA_SUCCESS) throw new CudaException(call + " failed: " + describe(result));
    }

    /** "CUDA_ERROR_NAME (code): text", or just the code when the driver cannot name it. */
    String describe(int result) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            String name = (int) cuGetErrorName.invokeExact(result, p) == 0 ? NativeLibrary.string(p.get(ADDRESS, 0)) : "CUresult";
            String text = (int) cuGetErrorString.invokeExact(result, p) == 0 ? NativeLibrary.string(p.get(ADDRESS, 0)) : "";
            return name + " (" + result + ")" + (text.isEmpty() ? "" : ": " + text);
        } catch (Throwable t) {
            return "CUresult " + result;
        }
    }

    private static CudaException failure(String call, Throwable t) {
        return t instanceof CudaException c ? c : new CudaException(call + " could not be called: " + t, t);
    }

    // ---- device and context ----------------------------------------------------------------------------------

    /** cuInit's raw result: availability probes turn a failure into a reason instead of an exception. */
    int init() {
        try {
            return (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw failure("cuInit", t);
        }
    }

    int driverVersion() {
        return outInt("cuDriverGetVersion", cuDriverGetVersion);
    }

    int deviceCount() {
        return outInt("cuDeviceGetCount", cuDeviceGetCount);
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGet(" + ordinal + ")", (int) cuDeviceGet.invokeExact(out, ordinal));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw failure("cuDeviceGet", t);
        }
    }

    String deviceName(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(256);
            check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(out, 256, device));
            return out.getString(0);
        } catch (Throwable t) {
            throw failure("cuDeviceGetName", t);
        }
    }

    int attribute(int device, int attribute) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check("cuDeviceGetAttribute(" + attribute + ")", (int) cuDeviceGetAttribute.invokeExact(out, attribute, device));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw failure("cuDeviceGetAttribute", t);
        }
    }

    long totalMemory(int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuDeviceTotalMem", (int) cuDeviceTotalMem.invokeExact(out, device));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw failure("cuDeviceTotalMem", t);
        }
    }

    /** The device's primary context (the one cuBLAS and the runtime API use too). */
    MemorySegment retainPrimaryContext(int device) {
        return outAddress("cuDevicePrimaryCtxRetain", cuDevicePrimaryCtxRetain, device);
    }

    void releasePrimaryContext(int device) {
        try {
            check("cuDevicePrimaryCtxRelease", (int) cuDevicePrimaryCtxRelease.invokeExact(device));
        } catch (Throwable t) {
            throw failure("cuDevicePrimaryCtxRelease", t);
        }
    }

    void setCurrent(MemorySegment context) {
        try {
            check("cuCtxSetCurrent", (int) cuCtxSetCurrent.invokeExact(context));
        } catch (Throwable t) {
            throw failure("cuCtxSetCurrent", t);
        }
    }

    long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG), total = a.allocate(JAVA_LONG);
            check("cuMemGetInfo", (int) cuMemGetInfo.invokeExact(free, total));
            return new long[]{free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        } catch (Throwable t) {
            throw failure("cuMemGetInfo", t);
        }
    }

    // ---- streams and memory ----------------------------------------------------------------------------------

    MemorySegment createStream() {
        return outAddress("cuStreamCreate", cuStreamCreate, STREAM_NON_BLOCKING);
    }

    void destroyStream(MemorySegment stream) {
        call("cuStreamDestroy", cuStreamDestroy, stream);
    }

    void synchronize(MemorySegment stream) {
        try {
            check("cuStreamSynchronize", (int) cuStreamSynchronize.invokeExact(stream));
        } catch (Throwable t) {
            throw failure("cuStreamSynchronize", t);
        }
    }

    long allocate(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_LONG);
            check("cuMemAlloc(" + bytes + " bytes)", (int) cuMemAlloc.invokeExact(out, bytes));
            return out.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw failure("cuMemAlloc", t);
        }
    }

    void free(long pointer) {
        try {
            check("cuMemFree", (int) cuMemFree.invokeExact(pointer));
        } catch (Throwable t) {
            throw failure("cuMemFree", t);
        }
    }

    MemorySegment allocateHost(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuMemAllocHost(" + bytes + " bytes)", (int) cuMemAllocHost.invokeExact(out, bytes));
            return out.get(ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw failure("cuMemAllocHost", t);
        }
    }

    void freeHost(MemorySegment host) {
        call("cuMemFreeHost", cuMemFreeHost, host);
    }

    void copyHostToDeviceAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyHtoDAsync", (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw failure("cuMemcpyHtoDAsync", t);
        }
    }

    void copyDeviceToHostAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoHAsync", (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw failure("cuMemcpyDtoHAsync", t);
        }
    }

    void copyDeviceToDeviceAsync(long dst, long src, long bytes, MemorySegment stream) {
        try {
            check("cuMemcpyDtoDAsync", (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream));
        } catch (Throwable t) {
            throw failure("cuMemcpyDtoDAsync", t);
        }
    }

    void fill32Async(long dst, int value, long count, MemorySegment stream) {
        try {
            check("cuMemsetD32Async", (int) cuMemsetD32Async.invokeExact(dst, value, count, stream));
        } catch (Throwable t) {
            throw failure("cuMemsetD32Async", t);
        }
    }

    // ---- modules and launches --------------------------------------------------------------------------------

    /** cuModuleLoadData's raw result and module: the loader falls back to other images on some errors. */
    int loadModule(MemorySegment image, MemorySegment moduleOut) {
        try {
            return (int) cuModuleLoadData.invokeExact(moduleOut, image);
        } catch (Throwable t) {
            throw failure("cuModuleLoadData", t);
        }
    }

    void unloadModule(MemorySegment module) {
        call("cuModuleUnload", cuModuleUnload, module);
    }

    /** The function, or NULL when the module does not define it. */
    MemorySegment function(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            int rc = (int) cuModuleGetFunction.invokeExact(out, module, a.allocateFrom(name));
            return rc == CUDA_SUCCESS ? out.get(ADDRESS, 0) : MemorySegment.NULL;
        } catch (Throwable t) {
            throw failure("cuModuleGetFunction", t);
        }
    }

    void setMaxDynamicSharedMemory(MemorySegment function, String name, int bytes) {
        try {
            check("cuFuncSetAttribute(" + name + ", max dynamic shared memory " + bytes + ")",
                    (int) cuFuncSetAttribute.invokeExact(function, FUNC_ATTR_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
        } catch (Throwable t) {
            throw failure("cuFuncSetAttribute", t);
        }
    }

    void launch(String name, MemorySegment function, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                MemorySegment stream, MemorySegment args) {
        int rc;
        try {
            rc = (int) cuLaunchKernel.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, args, MemorySegment.NULL);
        } catch (Throwable t) {
            throw failure("cuLaunchKernel(" + name + ")", t);
        }
        if (rc != CUDA_SUCCESS) {
            throw new CudaException("cuLaunchKernel(" + name + ", grid " + gx + "×" + gy + "×" + gz + ", block " + bx
                    + ", " + sharedBytes + " B shared) failed: " + describe(rc));
        }
    }

    // ---- graphs and events -----------------------------------------------------------------------------------

    void beginCapture(MemorySegment stream) {
        call("cuStreamBeginCapture", cuStreamBeginCapture, stream, STREAM_CAPTURE_MODE_THREAD_LOCAL);
    }

    /** cuStreamEndCapture(stream, &graph): the stream comes first here, unlike the other out-parameter calls. */
    MemorySegment endCapture(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuStreamEndCapture", (int) cuStreamEndCapture.invokeExact(stream, out));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw failure("cuStreamEndCapture", t);
        }
    }

    MemorySegment instantiate(MemorySegment graph) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cuGraphInstantiate", (int) cuGraphInstantiate.invokeExact(out, graph, 0L));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw failure("cuGraphInstantiate", t);
        }
    }

    void launchGraph(MemorySegment exec, MemorySegment stream) {
        try {
            check("cuGraphLaunch", (int) cuGraphLaunch.invokeExact(exec, stream));
        } catch (Throwable t) {
            throw failure("cuGraphLaunch", t);
        }
    }

    void destroyGraph(MemorySegment graph, MemorySegment exec) {
        if (!exec.equals(MemorySegment.NULL)) call("cuGraphExecDestroy", cuGraphExecDestroy, exec);
        if (!graph.equals(MemorySegment.NULL)) call("cuGraphDestroy", cuGraphDestroy, graph);
    }

    MemorySegment createEvent() {
        return outAddress("cuEventCreate", cuEventCreate, 0);
    }

    void record(MemorySegment event, MemorySegment stream) {
        call("cuEventRecord", cuEventRecord, event, stream);
    }

    /** Milliseconds between two recorded events, after waiting for the second. */
    float elapsedMillis(MemorySegment start, MemorySegment end) {
        call("cuEventSynchronize", cuEventSynchronize, end);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", (int) cuEventElapsedTime.invokeExact(out, start, end));
            return out.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw failure("cuEventElapsedTime", t);
        }
    }

    void destroyEvent(MemorySegment event) {
        call("cuEventDestroy", cuEventDestroy, event);
    }

    // ---- helpers for calls off the hot path ------------------------------------------------------------------

    private void call(String name, MethodHandle h, Object... args) {
        try {
            check(name, (int) h.invokeWithArguments(args));
        } catch (Throwable t) {
            throw failure(name, t);
        }
    }

    private int outInt(String name, MethodHandle h) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(JAVA_INT);
            check(name, (int) h.invokeExact(out));
            return out.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw failure(name, t);
        }
    }

    /** Calls {@code h(out, rest…)} and returns the handle written to {@code out}. */
    private MemorySegment outAddress(String name, MethodHandle h, Object... rest) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            Object[] args = new Object[rest.length + 1];
            args[0] = out;
            System.arraycopy(rest, 0, args, 1, rest.length);
            check(name, (int) h.invokeWithArguments(args));
            return out.get(ADDRESS, 0);
        } catch (Throwable t) {
            throw failure(name, t);
        }
    }
}
