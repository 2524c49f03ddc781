package dev.cm3leon.cuda;

/** Fixture parity of the CUDA engine on GPU 0; skipped without one. */
class CudaEngineParityOnGpuTest extends CudaEngineParityTest {
    @Override
    protected Device device() {
        return TestDevices.gpu();
    }
}
