package dev.cm3leon.cuda;

/** The sampling kernels on GPU 0; skipped without one. */
class SamplingKernelsOnGpuTest extends SamplingKernelsTest {
    @Override
    protected Device device() {
        return TestDevices.gpu();
    }
}
