package dev.cm3leon.cuda;

/** The forward kernels on the CPU emulator: runs wherever a C++ compiler is, GPU or not. */
class ForwardKernelsOnEmulatorTest extends ForwardKernelsTest {
    @Override
    protected Device device() {
        return TestDevices.emulator();
    }
}
