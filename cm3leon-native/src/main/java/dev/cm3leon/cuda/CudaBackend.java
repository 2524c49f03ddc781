package dev.cm3leon.cuda;

import dev.cm3leon.engine.Backend;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.Engine;
import dev.cm3leon.engine.EngineOptions;

/**
 * The CUDA backend: chosen over the CPU when a driver, a GPU of compute capability 8.0 or newer and the kernels are
 * present. {@link #availability} probes {@code libcuda.so.1} with a plain library lookup before any call, so on a
 * machine without a driver it answers with a reason and leaves nothing loaded or broken.
 */
public final class CudaBackend implements Backend {
    private static volatile Availability cached;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public int priority() {
        return 100;
    }

    @Override
    public Availability availability() {
        Availability a = cached;
        if (a == null) cached = a = probe();
        return a;
    }

    static Availability probe() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) {
            return Availability.no("the CUDA backend runs on Linux only");
        }
        var driver = CudaDriver.open();
        if (driver.isEmpty()) return Availability.no("no CUDA driver (" + CudaDriver.LIBRARY + " not found)");
        CudaDriver cu = driver.get();
        try {
            int rc = cu.init();
            if (rc != CudaDriver.CUDA_SUCCESS) return Availability.no("CUDA driver present but cuInit failed: " + cu.describe(rc));
            int count = cu.deviceCount();
            if (count == 0) return Availability.no("CUDA driver present but no GPU is visible");
            int dev = cu.device(0);
            int major = cu.attribute(dev, CudaDriver.ATTR_COMPUTE_CAPABILITY_MAJOR);
            int minor = cu.attribute(dev, CudaDriver.ATTR_COMPUTE_CAPABILITY_MINOR);
            String name = cu.deviceName(dev);
            if (major < 8) {
                return Availability.no(name + " has compute capability " + major + "." + minor + "; the kernels need 8.0 or newer (bf16 tensor cores)");
            }
            KernelImages images = KernelImages.load();
            int version = cu.driverVersion();
            return Availability.yes(name + " (sm_" + major + minor + "), driver " + version / 1000 + "." + (version % 1000) / 10
                    + ", kernels " + (images.compiled() ? "precompiled" : "from source (NVRTC)"));
        } catch (RuntimeException e) {
            return Availability.no("CUDA probe failed: " + e.getMessage());
        }
    }

    /** The device kernels rotate RoPE halves (HF's order); rows kept in interleaved-pair order would be rotated wrongly. */
    @Override
    public java.util.Optional<String> unsupported(dev.cm3leon.checkpoint.ModelConfig config) {
        return config.interleavedRope()
                ? java.util.Optional.of("its query and key rows are in RoPE's interleaved-pair order (Meta's original layout, "
                + "GGUF), which the CUDA kernels do not rotate; the CPU backend runs it")
                : java.util.Optional.empty();
    }

    @Override
    public Engine open(DecoderWeights weights, EngineOptions options) {
        CudaDevice device = CudaDevice.open(0);
        try {
            return new CudaEngine(device, weights, options, true);
        } catch (RuntimeException e) {
            device.close();
            throw e;
        }
    }
}
