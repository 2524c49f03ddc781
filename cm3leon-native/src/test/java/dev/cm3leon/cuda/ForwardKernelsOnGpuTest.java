package dev.cm3leon.cuda;

/** The forward kernels on GPU 0; skipped without one. */
class ForwardKernelsOnGpuTest extends ForwardKernelsTest {
    @Override
    protected Device device() {
        return TestDevices.gpu();
    }
}
