package dev.cm3leon.cuda;

import dev.cm3leon.engine.Backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The devices tests run on, each opened once per JVM; a test is skipped where its device is absent. */
final class TestDevices {
    private static Device emulator, gpu, emulatedDriver;

    private TestDevices() {
    }

    /** The CPU emulator of the kernels (needs g++ on Linux x86-64). */
    static synchronized Device emulator() {
        var lib = KernelEmulator.library();
        assumeTrue(lib.isPresent(), () -> "kernel emulator unavailable: " + KernelEmulator.unavailableReason());
        if (emulator == null) emulator = new EmulatedDevice(lib.get());
        return emulator;
    }

    /**
     * The real CudaDevice (FFM bindings, module loading, graphs, events, cuBLAS calls) over stand-ins for libcuda
     * and libcublas that run the kernels on the emulator.
     */
    static synchronized Device emulatedDriver() {
        var lib = KernelEmulator.library();
        assumeTrue(lib.isPresent(), () -> "kernel emulator unavailable: " + KernelEmulator.unavailableReason());
        if (emulatedDriver == null) {
            String path = lib.get().toString();
            emulatedDriver = new CudaDevice(CudaDriver.open(java.util.List.of(path)).orElseThrow(), 0, java.util.List.of(path));
        }
        return emulatedDriver;
    }

    /** GPU 0 through the CUDA driver. */
    static synchronized Device gpu() {
        Backend.Availability a = new CudaBackend().availability();
        assumeTrue(a.available(), () -> "no GPU: " + a.reason());
        if (gpu == null) gpu = CudaDevice.open(0);
        return gpu;
    }
}
