package dev.cm3leon.cuda;

/** The sampling kernels on the CPU emulator: runs wherever a C++ compiler is, GPU or not. */
class SamplingKernelsOnEmulatorTest extends SamplingKernelsTest {
    @Override
    protected Device device() {
        return TestDevices.emulator();
    }
}
