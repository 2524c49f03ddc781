package dev.cm3leon.checkpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A PyTorch checkpoint ({@code torch.save}'s zip format, e.g. Meta's {@code vqgan.ckpt}) read without Python and
 * without running any of it. The archive holds {@code <name>/data.pkl}, a pickle of the state dict whose tensors
 * point at storages {@code <name>/data/<key>}. The pickle is read by {@link PickleReader}, which accepts only the
 * globals PyTorch uses to describe tensors ({@code torch._utils._rebuild_tensor_v2}, the storage types,
 * {@code collections.OrderedDict}); anything else, {@code os.system} say, is refused with its name.
 *
 * <p>Tensors are views of their storage: uncompressed storages (as PyTorch writes them) stay memory-mapped. Offsets,
 * sizes and strides are checked against the storage; tensors must be contiguous. The tensors are those of the
 * {@code "state_dict"} entry when the top-level dict has one (a training checkpoint), else of the top-level dict.
 */
public final class TorchCheckpoint implements TensorSource {
    private static final Logger LOG = LoggerFactory.getLogger(TorchCheckpoint.class);
    private static final Pattern PICKLE_NAME = Pattern.compile("[^/]+/data\\.pkl");

    private static final String REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
    private static final String REBUILD_PARAMETER = "torch._utils._rebuild_parameter";
    private static final String ORDERED_DICT = "collections.OrderedDict";
    private static final Map<String, DType> STORAGE_TYPES = Map.of(
            "torch.FloatStorage", DType.F32, "torch.HalfStorage", DType.F16, "torch.BFloat16Storage", DType.BF16,
            "torch.DoubleStorage", DType.F64, "torch.LongStorage", DType.I64, "torch.IntStorage", DType.I32,
            "torch.ShortStorage", DType.I16, "torch.CharStorage", DType.I8, "torch.ByteStorage", DType.U8,
            "torch.BoolStorage", DType.BOOL);
    private static final Set<String> ALLOWED_GLOBALS;

    static {
        Set<String> s = new HashSet<>(STORAGE_TYPES.keySet());
        s.addAll(List.of(REBUILD_TENSOR, REBUILD_PARAMETER, ORDERED_DICT));
        ALLOWED_GLOBALS = Set.copyOf(s);
    }

    /** One storage file of the archive, typed by the pickle. */
    private record Storage(String key, DType dtype, long numel, MemorySegment data) {
    }

    /** What {@code _rebuild_tensor_v2} describes: a strided view of a storage (checked once its name is known). */
    private record TensorView(Storage storage, long offset, long[] shape, long[] stride) {
    }

    private final Path path;
    private final ZipArchive zip;
    private final Map<String, Tensor> tensors;

    private TorchCheckpoint(Path path, ZipArchive zip, Map<String, Tensor> tensors) {
        this.path = path;
        this.zip = zip;
        this.tensors = tensors;
    }

    public static TorchCheckpoint open(Path path) {
        ZipArchive zip = ZipArchive.open(path);
        try {
            List<String> pickles = zip.entries().keySet().stream().filter(n -> PICKLE_NAME.matcher(n).matches()).toList();
            if (pickles.size() != 1) {
                throw CheckpointException.of(path, pickles.isEmpty()
                        ? "not a PyTorch checkpoint (no <name>/data.pkl in the archive)"
                        : "several pickles in the archive: " + pickles);
            }
            String prefix = pickles.getFirst().substring(0, pickles.getFirst().length() - "data.pkl".length());
            ZipArchive.Entry byteOrder = zip.entries().get(prefix + "byteorder");
            if (byteOrder != null) {
                String order = new String(zip.data(byteOrder).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        StandardCharsets.US_ASCII).strip();
                if (!order.equals("little")) throw CheckpointException.of(path, "byte order '" + order + "' is not supported");
            }
            Object root = PickleReader.read(path, zip.data(zip.entries().get(pickles.getFirst())), ALLOWED_GLOBALS,
                    new StorageResolver(path, zip, prefix));
            return new TorchCheckpoint(path, zip, collectTensors(path, root));
        } catch (RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static Map<String, Tensor> collectTensors(Path path, Object root) {
        if (!(root instanceof Map<?, ?> top)) throw CheckpointException.of(path, "the pickle holds no dict of tensors");
        Map<?, ?> dict = top.get("state_dict") instanceof Map<?, ?> sd ? sd : top;
        Map<String, Tensor> out = new LinkedHashMap<>();
        int skipped = 0;
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (e.getKey() instanceof String name && e.getValue() instanceof TensorView view) {
                out.put(name, toTensor(path, name, view));
            } else {
                skipped++;
            }
        }
        if (out.isEmpty()) throw CheckpointException.of(path, "the checkpoint's dict holds no tensors");
        if (skipped > 0) LOG.debug("{}: ignored {} entries that are not named tensors", path, skipped);
        return Collections.unmodifiableMap(out);
    }

    private static Tensor toTensor(Path path, String name, TensorView v) {
        Storage s = v.storage;
        long numel = 1, expected = 1;
        for (int d = v.shape.length - 1; d >= 0; d--) {
            if (v.shape[d] < 0) throw CheckpointException.of(path, "tensor '" + name + "': negative size " + Arrays.toString(v.shape));
            if (v.shape[d] != 1 && v.stride[d] != expected) {
                throw CheckpointException.of(path, "tensor '" + name + "': stride " + Arrays.toString(v.stride)
                        + " for size " + Arrays.toString(v.shape) + " is not contiguous");
            }
            try {
                expected = Math.multiplyExact(expected, v.shape[d]);
            } catch (ArithmeticException e) {
                throw CheckpointException.of(path, "tensor '" + name + "': size " + Arrays.toString(v.shape) + " overflows");
            }
            numel = expected;
        }
        if (v.offset < 0 || v.offset > s.numel || numel > s.numel - v.offset) {
            throw CheckpointException.of(path, "tensor '" + name + "': storage offset " + v.offset + " + " + numel
                    + " elements lies outside storage '" + s.key + "' of " + s.numel + " elements");
        }
        long size = s.dtype.byteSize();
        return new Tensor(name, s.dtype, v.shape, s.data.asSlice(v.offset * size, numel * size));
    }

    /** Storages from the archive for BINPERSID, tensors and OrderedDicts for REDUCE; nothing else is callable. */
    private static final class StorageResolver implements PickleReader.Resolver {
        private final Path path;
        private final ZipArchive zip;
        private final String prefix;
        private final Map<String, Storage> storages = new HashMap<>();

        StorageResolver(Path path, ZipArchive zip, String prefix) {
            this.path = path;
            this.zip = zip;
            this.prefix = prefix;
        }

        @Override
        public Object persistentLoad(Object pid) {
            if (!(pid instanceof PickleReader.Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))
                    || !(t.get(1) instanceof PickleReader.Global type) || !(t.get(2) instanceof String key)
                    || !(t.get(4) instanceof Long numel)) {
                throw CheckpointException.of(path, "unsupported persistent id " + PickleReader.describe(pid) + " (expected a tensor storage)");
            }
            DType dtype = STORAGE_TYPES.get(type.qualified());
            if (dtype == null) throw CheckpointException.of(path, "storage '" + key + "': '" + type.qualified() + "' is not a storage type");
            Storage cached = storages.get(key);
            if (cached != null) {
                if (cached.dtype != dtype || cached.numel != numel) {
                    throw CheckpointException.of(path, "storage '" + key + "' is described two different ways");
                }
                return cached;
            }
            ZipArchive.Entry entry = zip.entries().get(prefix + "data/" + key);
            if (entry == null) throw CheckpointException.of(path, "storage '" + key + "' is missing from the archive");
            if (numel < 0) throw CheckpointException.of(path, "storage '" + key + "' declares " + numel + " elements");
            MemorySegment data = zip.data(entry);
            long bytes;
            try {
                bytes = Math.multiplyExact(numel, (long) dtype.byteSize());
            } catch (ArithmeticException e) {
                throw CheckpointException.of(path, "storage '" + key + "' declares " + numel + " elements");
            }
            if (data.byteSize() < bytes) {
                throw CheckpointException.of(path, "storage '" + key + "' holds " + data.byteSize() + " bytes but the pickle declares "
                        + numel + " elements of " + dtype + " (" + bytes + " bytes)");
            }
            Storage s = new Storage(key, dtype, numel, data.asSlice(0, bytes));
            storages.put(key, s);
            return s;
        }

        @Override
        public Object call(PickleReader.Global callable, PickleReader.Tuple args) {
            return switch (callable.qualified()) {
                case ORDERED_DICT -> {
                    if (args.size() != 0) throw CheckpointException.of(path, "OrderedDict with arguments is not supported");
                    yield new LinkedHashMap<>();
                }
                case REBUILD_TENSOR -> rebuildTensor(args);
                case REBUILD_PARAMETER -> {
                    if (args.size() < 1 || !(args.get(0) instanceof TensorView v)) {
                        throw CheckpointException.of(path, REBUILD_PARAMETER + " without a tensor");
                    }
                    yield v;
                }
                default -> throw CheckpointException.of(path, "global '" + callable.qualified() + "' cannot be called");
            };
        }

        private TensorView rebuildTensor(PickleReader.Tuple a) {
            if (a.size() < 4 || !(a.get(0) instanceof Storage s) || !(a.get(1) instanceof Long offset)
                    || !(a.get(2) instanceof PickleReader.Tuple size) || !(a.get(3) instanceof PickleReader.Tuple stride)
                    || size.size() != stride.size()) {
                throw CheckpointException.of(path, REBUILD_TENSOR + " with unexpected arguments (" + a.items().stream()
                        .map(PickleReader::describe).collect(java.util.stream.Collectors.joining(", ")) + ")");
            }
            return new TensorView(s, offset, longs(size), longs(stride));
        }

        private long[] longs(PickleReader.Tuple t) {
            long[] out = new long[t.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(t.get(i) instanceof Long v)) {
                    throw CheckpointException.of(path, "tensor size or stride element " + i + " is "
                            + PickleReader.describe(t.get(i)) + ", not an integer");
                }
                out[i] = v;
            }
            return out;
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public Map<String, Tensor> tensors() {
        return tensors;
    }


    @Override
    public String describe() {
        return path.toString();
    }

    @Override
    public void requireIntact() {
        zip.requireIntact();
    }

    @Override
    public void close() {
        zip.close();
    }
}
