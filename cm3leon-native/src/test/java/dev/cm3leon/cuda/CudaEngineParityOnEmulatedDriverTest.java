package dev.cm3leon.cuda;

/** The same suite through the real CudaDevice and its FFM bindings, over the stand-in driver and cuBLAS. */
class CudaEngineParityOnEmulatedDriverTest extends CudaEngineParityTest {
    @Override
    protected Device device() {
        return TestDevices.emulatedDriver();
    }
}
