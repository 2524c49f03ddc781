package dev.cm3leon.cuda;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;


/**
 * What kernel tests share: a device (the GPU or its CPU emulator, chosen by the subclass), buffers freed after each
 * test, outputs poisoned with NaN before each launch, and fresh random inputs whose seed every failure reports.
 */
abstract class DeviceTestSupport {
    protected Device device;
    protected Kernels kernels;
    protected long seed;
    protected Random random;
    private Arena arena;
    private final List<DeviceBuffer> buffers = new ArrayList<>();

    protected abstract Device device();

    @BeforeEach
    void openDevice() {
        device = device();
        arena = Arena.ofShared();
        kernels = new Kernels(device, arena);
        seed = new SecureRandom().nextLong();
        random = new Random(seed);
    }

    @AfterEach
    void freeBuffers() {
        if (device != null) device.synchronize();
        buffers.forEach(DeviceBuffer::close);
        buffers.clear();
        if (arena != null) arena.close();
    }

    String seed() {
        return "seed " + seed;
    }

    DeviceBuffer buffer(long bytes) {
        DeviceBuffer b = new DeviceBuffer(device, bytes);
        buffers.add(b);
        return b;
    }

    /** A buffer whose every word is a NaN, so that anything a kernel fails to write shows up. */
    DeviceBuffer poisoned(long bytes) {
        DeviceBuffer b = buffer(bytes);
        device.fill32Async(b.pointer(), 0xffffffff, (bytes + 3) / 4);
        device.synchronize();
        return b;
    }

    DeviceBuffer f32(float[] v) {
        DeviceBuffer b = buffer(4L * Math.max(1, v.length));
        device.upload(b.pointer(), MemorySegment.ofArray(v));
        return b;
    }

    DeviceBuffer i32(int[] v) {
        DeviceBuffer b = buffer(4L * Math.max(1, v.length));
        if (v.length > 0) device.upload(b.pointer(), MemorySegment.ofArray(v));
        return b;
    }

    DeviceBuffer bf16(float[] v) {
        short[] bits = new short[v.length];
        for (int i = 0; i < v.length; i++) bits[i] = DeviceWeights.bf16(v[i]);
        DeviceBuffer b = buffer(2L * Math.max(1, v.length));
        device.upload(b.pointer(), MemorySegment.ofArray(bits));
        return b;
    }

    DeviceBuffer typed(ElementType t, float[] v) {
        return t == ElementType.BF16 ? bf16(v) : f32(v);
    }

    float[] readF32(DeviceBuffer b, int n) {
        float[] out = new float[n];
        device.download(MemorySegment.ofArray(out), b.pointer());
        return out;
    }

    int[] readI32(DeviceBuffer b, int n) {
        int[] out = new int[n];
        device.download(MemorySegment.ofArray(out), b.pointer());
        return out;
    }

    float[] readTyped(ElementType t, long pointer, int n) {
        if (t == ElementType.F32) {
            float[] out = new float[n];
            device.download(MemorySegment.ofArray(out), pointer);
            return out;
        }
        short[] bits = new short[n];
        device.download(MemorySegment.ofArray(bits), pointer);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((bits[i] & 0xffff) << 16);
        return out;
    }

    float[] randn(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) random.nextGaussian();
        return v;
    }

    /** What the device sees of {@code v} stored as {@code t}. */
    static float[] asStored(ElementType t, float[] v) {
        if (t == ElementType.F32) return v.clone();
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float.intBitsToFloat((DeviceWeights.bf16(v[i]) & 0xffff) << 16);
        return out;
    }

    /** Largest |a − b| relative to the largest |b| (1 when b is all zeros); NaN anywhere fails. */
    static double relativeError(float[] a, float[] b) {
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            if (Float.isNaN(a[i]) != Float.isNaN(b[i])) return Double.POSITIVE_INFINITY;
            diff = Math.max(diff, Math.abs((double) a[i] - b[i]));
            scale = Math.max(scale, Math.abs(b[i]));
        }
        return diff / Math.max(scale, 1e-30);
    }

    static double maxAbs(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            if (Float.isNaN(a[i]) || Float.isNaN(b[i])) return Double.POSITIVE_INFINITY;
            m = Math.max(m, Math.abs((double) a[i] - b[i]));
        }
        return m;
    }

    /** A CPU-engine weight view of {@code v} stored as {@code t}, shape [rows, cols]. */
    static dev.cm3leon.engine.cpu.MatrixWeights matrix(ElementType t, float[] v, int rows, int cols) {
        MemorySegment data;
        if (t == ElementType.F32) {
            data = MemorySegment.ofArray(v.clone());
        } else {
            short[] bits = new short[v.length];
            for (int i = 0; i < v.length; i++) bits[i] = DeviceWeights.bf16(v[i]);
            data = MemorySegment.ofArray(bits);
        }
        dev.cm3leon.checkpoint.DType dtype = t == ElementType.F32 ? dev.cm3leon.checkpoint.DType.F32 : dev.cm3leon.checkpoint.DType.BF16;
        return dev.cm3leon.engine.cpu.MatrixWeights.of(new dev.cm3leon.checkpoint.Tensor("w", dtype, new long[]{rows, cols}, data));
    }
}
