package dev.cm3leon.cuda;

/** Fixture parity of the CUDA engine on the CPU emulator of the kernels. */
class CudaEngineParityOnEmulatorTest extends CudaEngineParityTest {
    @Override
    protected Device device() {
        return TestDevices.emulator();
    }
}
