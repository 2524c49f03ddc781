package dev.cm3leon.cuda;

import dev.cm3leon.checkpoint.DType;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.checkpoint.Tensor;
import dev.cm3leon.checkpoint.VocabularyMap;
import dev.cm3leon.engine.DecoderWeights;
import dev.cm3leon.engine.cpu.RopeTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The decoder's weights on the device, uploaded once. Matrices keep their stored dtype when it is bf16 (or f32);
 * f16 widens to f32 exactly; with {@code castToBf16} f32/f16 become bf16 (round to nearest even). q/k/v are stored
 * as one [qDim + 2·kvDim, d] matrix and gate/up as one [2·ff, d], so a step reads each group in one product. Norm
 * weights, QK-norm weights and biases, and the RoPE table are f32.
 */
final class DeviceWeights implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceWeights.class);
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long CHUNK = 1 << 22;  // elements converted per upload

    /** One layer; the QK-norm buffers are null when the model has none. */
    record Layer(DeviceBuffer qkv, DeviceBuffer o, DeviceBuffer gateUp, DeviceBuffer down, DeviceBuffer inputNorm,
                 DeviceBuffer postNorm, DeviceBuffer qNormW, DeviceBuffer qNormB, DeviceBuffer kNormW,
                 DeviceBuffer kNormB) {
    }

    final ElementType type;
    final DeviceBuffer embed, lmHead, finalNorm, ropeCos, ropeSin, imageIds, otherIds;
    final int imageCount, otherCount;
    final List<Layer> layers;
    /** Bytes of weights a decode step reads (every matrix once, embeddings excluded). */
    final long bytesPerStep;
    private final List<DeviceBuffer> owned = new ArrayList<>();

    DeviceWeights(Device device, DecoderWeights w, boolean castToBf16) {
        ModelConfig c = w.config();
        List<Tensor> matrices = new ArrayList<>(List.of(w.embedTokens(), w.lmHead()));
        w.layers().forEach(l -> matrices.addAll(List.of(l.qProj(), l.kProj(), l.vProj(), l.oProj(), l.gateProj(), l.upProj(), l.downProj())));
        boolean allBf16 = matrices.stream().allMatch(t -> t.dtype() == DType.BF16);
        type = castToBf16 || allBf16 ? ElementType.BF16 : ElementType.F32;
        if (!allBf16 && !matrices.stream().allMatch(t -> t.dtype() == DType.F32)) {
            LOG.info("weights are {}; stored on the device as {}", matrices.stream().map(Tensor::dtype).distinct().toList(), type);
        }
        try {
            embed = matrix(device, w.embedTokens());
            lmHead = w.lmHead() == w.embedTokens() ? embed : matrix(device, w.lmHead());
            finalNorm = vector(device, w.norm());
            List<Layer> ls = new ArrayList<>();
            long bytes = lmHead.bytes() + finalNorm.bytes();
            for (DecoderWeights.Layer l : w.layers()) {
                Layer L = new Layer(matrix(device, l.qProj(), l.kProj(), l.vProj()), matrix(device, l.oProj()),
                        matrix(device, l.gateProj(), l.upProj()), matrix(device, l.downProj()),
                        vector(device, l.inputLayernorm()), vector(device, l.postAttentionLayernorm()),
                        vector(device, l.qNormWeight()), vector(device, l.qNormBias()),
                        vector(device, l.kNormWeight()), vector(device, l.kNormBias()));
                bytes += L.qkv.bytes() + L.o.bytes() + L.gateUp.bytes() + L.down.bytes();
                ls.add(L);
            }
            layers = List.copyOf(ls);
            bytesPerStep = bytes;
            RopeTable rope = new RopeTable(c.maxPositions(), c.headDim(), c.ropeTheta());
            // The device keeps a table for the whole context (kernels index it by position).
            RopeTable.Angles angles = rope.upTo(c.maxPositions());
            ropeCos = floats(device, angles.cos());
            ropeSin = floats(device, angles.sin());
            int[] image = c.vocabulary().map(VocabularyMap::imageTokenIds).orElse(new int[0]);
            boolean[] isImage = new boolean[c.vocabSize()];
            for (int id : image) isImage[id] = true;
            int[] other = IntStream.range(0, c.vocabSize()).filter(i -> !isImage[i]).toArray();
            imageCount = image.length;
            otherCount = other.length;
            imageIds = ints(device, image);
            otherIds = ints(device, other);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Rows of several [rows_i, cols] tensors stacked into one device matrix, in the device type. */
    private DeviceBuffer matrix(Device device, Tensor... parts) {
        long elements = 0;
        for (Tensor t : parts) elements += t.elementCount();
        DeviceBuffer b = own(new DeviceBuffer(device, elements * type.bytes));
        long offset = 0;
        for (Tensor t : parts) {
            upload(device, b.at(offset), t);
            offset += t.elementCount() * type.bytes;
        }
        return b;
    }

    private void upload(Device device, long dst, Tensor t) {
        boolean same = (type == ElementType.BF16 && t.dtype() == DType.BF16) || (type == ElementType.F32 && t.dtype() == DType.F32);
        if (same) {
            device.upload(dst, t.data());
            return;
        }
        long n = t.elementCount();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment chunk = a.allocate(Math.min(n, CHUNK) * type.bytes, 16);
            for (long from = 0; from < n; from += CHUNK) {
                long count = Math.min(CHUNK, n - from);
                for (long i = 0; i < count; i++) {
                    float v = t.getFloat(from + i);
                    if (type == ElementType.BF16) chunk.set(BF16, 2 * i, bf16(v));
                    else chunk.set(F32, 4 * i, v);
                }
                device.upload(dst + from * type.bytes, chunk.asSlice(0, count * type.bytes));
            }
        }
    }

    /** f32 → bf16 bits, round to nearest even (as torch's cast); NaN stays NaN. */
    static short bf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) return (short) ((u >>> 16) | 0x40);
        u += 0x7fff + ((u >>> 16) & 1);
        return (short) (u >>> 16);
    }

    private DeviceBuffer vector(Device device, Tensor t) {
        return t == null ? null : floats(device, t.toFloatArray());
    }

    private DeviceBuffer floats(Device device, float[] v) {
        DeviceBuffer b = own(new DeviceBuffer(device, 4L * v.length));
        device.upload(b.pointer(), MemorySegment.ofArray(v));
        return b;
    }

    private DeviceBuffer ints(Device device, int[] v) {
        DeviceBuffer b = own(new DeviceBuffer(device, 4L * v.length));
        if (v.length > 0) device.upload(b.pointer(), MemorySegment.ofArray(v));
        return b;
    }

    private DeviceBuffer own(DeviceBuffer b) {
        owned.add(b);
        return b;
    }

    static long pointer(DeviceBuffer b) {
        return b == null ? 0L : b.pointer();
    }

    @Override
    public void close() {
        owned.forEach(DeviceBuffer::close);
        owned.clear();
    }
}
