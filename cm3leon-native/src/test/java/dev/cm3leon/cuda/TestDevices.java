package dev.cm3leon.cuda;

import dev.cm3leon.engine.Backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The devices tests run on, each opened once per JVM; a test is skipped where its device is absent. */
final class TestDevices {
    private static Device emulator, gpu;

    private TestDevices() {
    }

    /** The CPU emulator of the kernels (needs g++ on Linux x86-64). */
    static synchronized Device emulator() {
        var lib = KernelEmulator.library();
        assumeTrue(lib.isPresent(), () -> "kernel emulator unavailable: " + KernelEmulator.unavailableReason());
        if (emulator == null) emulator = new EmulatedDevice(lib.get());
        return emulator;
    }

    /** GPU 0 through the CUDA driver. */
    static synchronized Device gpu() {
        Backend.Availability a = new CudaBackend().availability();
        assumeTrue(a.available(), () -> "no GPU: " + a.reason());
        if (gpu == null) gpu = CudaDevice.open(0);
        return gpu;
    }
}
