package dev.cm3leon.checkpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Writes small PyTorch-format archives byte by byte, good or deliberately bad, for the reader's tests. */
final class TorchArchives {
    private TorchArchives() {
    }

    /** Pickle opcodes, written by hand. */
    static final class Pickle {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int opcode) {
            out.write(opcode);
            return this;
        }

        Pickle proto() {
            return op(0x80).op(2);
        }

        Pickle str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X');
            int n = b.length;
            out.write(n);
            out.write(n >> 8);
            out.write(n >> 16);
            out.write(n >> 24);
            out.writeBytes(b);
            return this;
        }

        Pickle integer(int v) {
            if (v >= 0 && v < 256) return op('K').op(v);
            op('J');
            out.write(v);
            out.write(v >> 8);
            out.write(v >> 16);
            out.write(v >> 24);
            return this;
        }

        Pickle global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle mark() {
            return op('(');
        }

        Pickle tuple() {
            return op('t');
        }

        /** A tuple of small integers. */
        Pickle ints(long... vs) {
            mark();
            for (long v : vs) integer((int) v);
            return tuple();
        }

        /** {@code _rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, OrderedDict())}. */
        Pickle tensor(String storageType, String key, int numel, int offset, long[] size, long[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").mark();
            mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).tuple().op('Q');
            integer(offset).ints(size).ints(stride).op(0x89);
            global("collections", "OrderedDict").op(')').op('R');
            return tuple().op('R');
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** {@code {"state_dict": {name: tensor}}} for one F32 tensor of {@code shape} viewing storage "0". */
    static byte[] stateDict(String name, int storageNumel, int offset, long[] shape, long[] stride) {
        Pickle p = new Pickle().proto().op('}').str("state_dict").op('}').str(name);
        p.tensor("FloatStorage", "0", storageNumel, offset, shape, stride);
        return p.op('s').op('s').op('.').bytes();
    }

    /**
     * {@code torch.save(dict)} of F32 tensors, as Meta saves {@code consolidated.pth}: a plain dict (no
     * {@code state_dict} wrapper), each tensor contiguous in its own storage. Values are [shape, data] pairs.
     */
    static Path writeTensors(Path file, Map<String, Map.Entry<long[], float[]>> tensors) {
        Pickle p = new Pickle().proto().op('}');
        Map<String, byte[]> storages = new LinkedHashMap<>();
        for (var e : tensors.entrySet()) {
            long[] shape = e.getValue().getKey();
            long[] stride = new long[shape.length];
            for (int d = shape.length - 1, s = 1; d >= 0; s *= (int) shape[d], d--) stride[d] = s;
            String key = Integer.toString(storages.size());
            float[] data = e.getValue().getValue();
            p.str(e.getKey()).tensor("FloatStorage", key, data.length, 0, shape, stride).op('s');
            storages.put(key, floats(data));
        }
        return write(file, p.op('.').bytes(), storages, false);
    }

    /** Writes {@code archive/data.pkl} and the storages, stored or deflated, as torch.save lays them out. */
    static Path write(Path file, byte[] pickle, Map<String, byte[]> storages, boolean deflate) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("archive/data.pkl", pickle);
        storages.forEach((k, v) -> entries.put("archive/data/" + k, v));
        entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (var e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                if (!deflate) {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    z.setMethod(ZipEntry.STORED);
                    z.setSize(e.getValue().length);
                    z.setCompressedSize(e.getValue().length);
                    z.setCrc(crc.getValue());
                } else {
                    z.setMethod(ZipEntry.DEFLATED);
                }
                zip.putNextEntry(z);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    static byte[] floats(float... v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }
}
