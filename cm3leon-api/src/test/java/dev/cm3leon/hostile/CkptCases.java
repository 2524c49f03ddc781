package dev.cm3leon.hostile;

import dev.cm3leon.checkpoint.TorchCheckpoint;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * PyTorch {@code .ckpt} archives that try to run code (every global and opcode a pickle exploit uses), that lie
 * about their storages and tensors, that exhaust the unpickler, and zip archives broken in their structure. The
 * storages come from Meta's {@code vqgan.ckpt} fixture.
 */
final class CkptCases {
    static final HostileCase.Reader OPEN = p -> {
        try (TorchCheckpoint ignored = TorchCheckpoint.open(p)) {
            // A hostile archive must not get this far.
        }
    };
    private static final byte[] STORAGE = new byte[256];

    private final Path dir;
    private final byte[] original;
    private final List<HostileCase> cases = new ArrayList<>();
    private int files;

    private CkptCases(Path dir, Path fixture) {
        this.dir = dir;
        this.original = HostileFiles.read(fixture);
    }

    static List<HostileCase> write(Path dir, Path fixture) {
        CkptCases c = new CkptCases(dir, fixture);
        c.truncations();
        c.codeExecution();
        c.unsupportedOpcodes();
        c.malformedPickles();
        c.lyingTensors();
        c.brokenZips();
        return c.cases;
    }

    private Path file(String name) {
        return dir.resolve(String.format("%03d-", files++) + name.replaceAll("[^A-Za-z0-9._-]", "_") + ".ckpt");
    }

    private void add(String name, Path file, String... mustName) {
        List<String> names = new ArrayList<>(List.of(file.getFileName().toString()));
        names.addAll(List.of(mustName));
        cases.add(new HostileCase("ckpt", name, file, OPEN, names));
    }

    /** An archive holding {@code pickle} as {@code archive/data.pkl} and a 256-byte float storage "0". */
    private void pickle(String name, byte[] pickle, String... mustName) {
        add(name, HostileFiles.write(file(name), archive(ordered("archive/data.pkl", pickle, "archive/data/0", STORAGE))), mustName);
    }

    private void truncations() {
        for (long cut : new long[]{0, 10, 21, 22, 1000, original.length / 4, original.length / 2, original.length * 3L / 4,
                original.length - 22, original.length - 1}) {
            add("vqgan.ckpt cut at " + cut, HostileFiles.write(file("cut-" + cut), Arrays.copyOf(original, (int) cut)));
        }
    }

    /** Every way a pickle exploit names something to import or call: each refused by name before anything runs. */
    private void codeExecution() {
        String[][] gadgets = {{"os", "system"}, {"posix", "system"}, {"nt", "system"}, {"subprocess", "Popen"},
                {"subprocess", "check_output"}, {"builtins", "eval"}, {"builtins", "exec"}, {"builtins", "getattr"},
                {"builtins", "__import__"}, {"__builtin__", "eval"}, {"torch", "load"}, {"numpy.core.multiarray", "_reconstruct"},
                {"pickle", "loads"}, {"runpy", "_run_code"}, {"webbrowser", "open"}, {"shutil", "rmtree"},
                {"functools", "partial"}, {"operator", "attrgetter"}, {"importlib", "import_module"}, {"torch._utils", "_rebuild_qtensor"}};
        for (String[] g : gadgets) {
            pickle("GLOBAL " + g[0] + "." + g[1] + " called", PickleBytes.proto2().global(g[0], g[1]).mark().str("id").tuple()
                    .reduce().stop().bytes(), "'" + g[0] + "." + g[1] + "'", "not allowed");
        }
        for (String[] g : new String[][]{{"builtins", "eval"}, {"os", "system"}, {"torch.serialization", "_get_layout"}}) {
            pickle("STACK_GLOBAL " + g[0] + "." + g[1], PickleBytes.proto2().stackGlobal(g[0], g[1]).mark().str("id").tuple()
                    .reduce().stop().bytes(), "'" + g[0] + "." + g[1] + "'", "not allowed");
        }
        pickle("a storage type that is os.system", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_tensor_v2").mark()
                .mark().str("storage").global("os", "system").str("0").str("cpu").integer(64).tuple().op('Q')
                .integer(0).ints(64).ints(1).op(0x89).global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce()),
                "'os.system'", "not allowed");
        pickle("REDUCE of a string", PickleBytes.proto2().str("os.system").mark().str("id").tuple().reduce().stop().bytes(), "REDUCE");
        pickle("REDUCE with a list of arguments", PickleBytes.proto2().global("collections", "OrderedDict").emptyList().reduce().stop().bytes(),
                "REDUCE arguments");
        pickle("OrderedDict called with arguments", PickleBytes.proto2().global("collections", "OrderedDict").mark().str("x").tuple()
                .reduce().stop().bytes(), "OrderedDict");
    }

    private void unsupportedOpcodes() {
        // Opcodes that build objects by calling classes, run __setstate__, consult the extension registry, or are
        // text forms torch.save never writes.
        int[][] ops = {{'i'}, {'o'}, {0x81}, {0x92}, {'b'}, {0x82, 1}, {0x83, 1, 0}, {0x84, 1, 0, 0, 0}, {'P'}, {'p'}, {'g'},
                {'I'}, {'L'}, {'S'}, {'V'}, {'F'}, {0x91}, {0x90}, {0x8f}, {0x96}, {0x97}, {0x98}, {'1'}};
        for (int[] op : ops) {
            PickleBytes p = PickleBytes.proto2().emptyTuple();
            for (int b : op) p.op(b);
            pickle(String.format("opcode 0x%02x", op[0]), p.stop().bytes(), String.format("opcode 0x%x", op[0]));
        }
        pickle("INST os system", PickleBytes.proto2().mark().op('i').raw("os\nsystem\n".getBytes(StandardCharsets.US_ASCII)).stop().bytes(),
                "opcode 0x69");
    }

    private void malformedPickles() {
        pickle("protocol 6", new PickleBytes().op(0x80).op(6).emptyDict().stop().bytes(), "protocol 6");
        pickle("no STOP", PickleBytes.proto2().emptyDict().bytes(), "ends early");
        pickle("STOP with two items", PickleBytes.proto2().emptyDict().emptyDict().stop().bytes(), "STOP with 2 items");
        pickle("STOP on an empty stack", PickleBytes.proto2().stop().bytes(), "STOP with 0 items");
        pickle("TUPLE without MARK", PickleBytes.proto2().emptyDict().tuple().stop().bytes(), "no MARK");
        pickle("memo entry never stored", PickleBytes.proto2().op('h').op(7).stop().bytes(), "memo entry 7");
        pickle("memo store from an empty stack", PickleBytes.proto2().op('q').op(0).stop().bytes(), "empty stack");
        pickle("LONG4 of 2 GB", PickleBytes.proto2().op(0x8b).u32(Integer.MAX_VALUE).stop().bytes(), "runs past the pickle");
        pickle("BINUNICODE of 4 GB", PickleBytes.proto2().op('X').u32(0xFFFFFFFFL).stop().bytes(), "runs past the pickle");
        pickle("BINUNICODE8 of 2^62 bytes", PickleBytes.proto2().op(0x8d).u64(1L << 62).stop().bytes(), "runs past the pickle");
        pickle("BINBYTES8 of a negative length", PickleBytes.proto2().op(0x8e).u64(-1).stop().bytes(), "runs past the pickle");
        pickle("LONG1 of 9 bytes", PickleBytes.proto2().bigInteger(new byte[]{0, 0, 0, 0, 0, 0, 0, 0, 1}).stop().bytes(), "64 bits");
        pickle("a global name of 2000 characters", PickleBytes.proto2().global("os", "x".repeat(2000)).stop().bytes(), "1024");
        pickle("SETITEM on a list", PickleBytes.proto2().emptyList().str("k").str("v").setItem().stop().bytes(), "not a dict");
        pickle("APPEND on a dict", PickleBytes.proto2().emptyDict().str("v").op('a').stop().bytes(), "not a list");
        pickle("a dict with an odd item count", PickleBytes.proto2().emptyDict().mark().str("k").op('u').stop().bytes(), "key/value");
        pickle("a list as a dict key", PickleBytes.proto2().emptyDict().emptyList().str("v").setItem().stop().bytes(), "unhashable");
        PickleBytes flood = PickleBytes.proto2();
        for (int i = 0; i < 1_100_000; i++) flood.op('N');
        pickle("a stack of 1.1 million items", flood.stop().bytes(), "stack grows");
        PickleBytes memo = PickleBytes.proto2().op('N');
        for (int i = 0; i < 2_000_000; i++) memo.op(0x94);
        pickle("a memo of 2 million entries", memo.stop().bytes(), "memo grows");
        // A list that holds a tuple that holds the list: printing or hashing it naively never ends.
        PickleBytes cycle = PickleBytes.proto2().emptyList().op('q').op(0).mark().op('h').op(0).tuple().op('a');
        pickle("a cyclic list as a persistent id", cycle.op('Q').stop().bytes(), "persistent id");
        // {T2: "v"} where T2 = ((L,),) and L = [T2]
        PickleBytes key = PickleBytes.proto2().emptyDict().emptyList().op('q').op(0).mark().mark().op('h').op(0).tuple().tuple()
                .op('q').op(1).op('a').op('0').op('h').op(1).str("v").setItem();
        pickle("a cyclic tuple as a dict key", key.stop().bytes(), "unhashable");
        PickleBytes deep = PickleBytes.proto2();
        for (int i = 0; i < 200_000; i++) deep.emptyList();
        for (int i = 0; i < 199_999; i++) deep.op('a');
        PickleBytes nested = PickleBytes.proto2().emptyDict().str("x");
        for (int i = 0; i < 100_000; i++) nested.op(0x85);
        pickle("a dict key of tuples nested 100000 deep", nested.str("v").setItem().stop().bytes(), "unhashable");
        pickle("lists nested 200000 deep", deep.stop().bytes(), "no dict of tensors");
        pickle("a root that is a list", PickleBytes.proto2().emptyList().stop().bytes(), "no dict of tensors");
        pickle("a dict without tensors", PickleBytes.proto2().emptyDict().str("a").integer(1).setItem().stop().bytes(), "holds no tensors");
    }

    private void lyingTensors() {
        pickle("a persistent id that is not a tuple", PickleBytes.stateDict(p -> p.str("0").op('Q')), "persistent id");
        pickle("a storage type that is not a storage", PickleBytes.stateDict(p -> p.mark().str("storage")
                .global("collections", "OrderedDict").str("0").str("cpu").integer(64).tuple().op('Q')), "not a storage type");
        pickle("a storage missing from the archive", PickleBytes.stateDict(p -> p.tensor("FloatStorage", "9", 64, 0,
                new long[]{64}, new long[]{1})), "storage '9' is missing");
        pickle("a storage larger than its file", PickleBytes.stateDict(p -> p.tensor("FloatStorage", "0", 65, 0,
                new long[]{65}, new long[]{1})), "storage '0' holds 256 bytes");
        pickle("a storage of -1 elements", PickleBytes.stateDict(p -> p.tensor("FloatStorage", "0", -1, 0,
                new long[]{1}, new long[]{1})), "storage '0' declares -1 elements");
        pickle("a storage of 2^62 doubles", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_tensor_v2").mark()
                .mark().str("storage").global("torch", "DoubleStorage").str("0").str("cpu").bigInteger(le(1L << 62)).tuple().op('Q')
                .integer(0).ints(1).ints(1).op(0x89).global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce()),
                "storage '0' declares");
        pickle("a storage described two ways", PickleBytes.proto2().emptyDict().str("state_dict").emptyDict()
                .str("a").tensor("FloatStorage", "0", 64, 0, new long[]{64}, new long[]{1}).setItem()
                .str("b").tensor("HalfStorage", "0", 128, 0, new long[]{128}, new long[]{1}).setItem().setItem().stop().bytes(),
                "described two different ways");
        pickle("an offset past the storage", PickleBytes.stateDict(p -> p.tensor("FloatStorage", "0", 64, 60,
                new long[]{8}, new long[]{1})), "tensor 'w'", "outside storage");
        pickle("a negative offset", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_tensor_v2").mark()
                .storage("FloatStorage", "0", 64).op('J').u32(-4).ints(4).ints(1).op(0x89)
                .global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce()), "tensor 'w'", "outside storage");
        pickle("a negative size", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_tensor_v2").mark()
                .storage("FloatStorage", "0", 64).integer(0).mark().op('J').u32(-4).tuple().ints(1).op(0x89)
                .global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce()), "tensor 'w'", "negative size");
        pickle("a transposed stride", PickleBytes.stateDict(p -> p.tensor("FloatStorage", "0", 64, 0,
                new long[]{8, 8}, new long[]{1, 8})), "tensor 'w'", "not contiguous");
        pickle("a size of 2^40 × 2^40", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_tensor_v2").mark()
                .storage("FloatStorage", "0", 64).integer(0).mark().bigInteger(le(1L << 40)).bigInteger(le(1L << 40)).tuple()
                .mark().bigInteger(le(1L << 40)).integer(1).tuple().op(0x89)
                .global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce()), "tensor 'w'");
        pickle("size and stride of different ranks", PickleBytes.stateDict(p -> p.tensor("FloatStorage", "0", 64, 0,
                new long[]{8, 8}, new long[]{1})), "_rebuild_tensor_v2");
        pickle("a size that is not integers", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_tensor_v2").mark()
                .storage("FloatStorage", "0", 64).integer(0).mark().str("8").tuple().ints(1).op(0x89)
                .global("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce()), "not an integer");
        pickle("_rebuild_tensor_v2 without arguments", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_tensor_v2")
                .emptyTuple().reduce()), "_rebuild_tensor_v2");
        pickle("_rebuild_parameter without a tensor", PickleBytes.stateDict(p -> p.global("torch._utils", "_rebuild_parameter")
                .emptyTuple().reduce()), "_rebuild_parameter");
        add("byte order big", HostileFiles.write(file("byteorder-big"), archive(ordered("archive/data.pkl",
                PickleBytes.stateDict(p -> p.tensor("FloatStorage", "0", 64, 0, new long[]{64}, new long[]{1})),
                "archive/data/0", STORAGE, "archive/byteorder", "big".getBytes(StandardCharsets.US_ASCII)))), "byte order 'big'");
    }

    private void brokenZips() {
        byte[] good = PickleBytes.stateDict(p -> p.tensor("FloatStorage", "0", 64, 0, new long[]{64}, new long[]{1}));
        add("a text file", HostileFiles.write(file("text"), "this is not a checkpoint at all".getBytes(StandardCharsets.UTF_8)), "zip");
        add("an archive without a pickle", HostileFiles.write(file("no-pickle"), archive(ordered("archive/data/0", STORAGE))), "data.pkl");
        add("an archive with two pickles", HostileFiles.write(file("two-pickles"), archive(ordered("a/data.pkl", good,
                "b/data.pkl", good, "a/data/0", STORAGE))), "several pickles");
        add("a 3 GB file of zeros (sparse)", HostileFiles.sparse(file("zeros-3gb"), new byte[0], 3L << 30), "zip");
        byte[] zip = archive(ordered("archive/data.pkl", good, "archive/data/0", STORAGE));
        int central = lastIndexOf(zip, 0x02014b50);
        int firstCentral = indexOf(zip, 0x02014b50);
        int eocd = lastIndexOf(zip, 0x06054b50);
        add("an encrypted entry", patched("encrypted", zip, b -> b.putShort(firstCentral + 8, (short) 1)), "encrypted");
        add("compression method 12", patched("bzip2", zip, b -> b.putShort(firstCentral + 10, (short) 12)), "compression method 12");
        add("a local header past the end", patched("local-offset", zip, b -> b.putInt(firstCentral + 42, 0x7FFFFFF0)), "local header");
        add("a central directory past the end", patched("directory-offset", zip, b -> b.putInt(eocd + 16, 0x7FFFFFF0)), "central directory");
        add("a central directory of 4 GB", patched("directory-size", zip, b -> b.putInt(eocd + 12, -2)), "central directory");
        add("65535 entries without ZIP64", patched("count-ffff", zip, b -> b.putShort(eocd + 10, (short) -1)), "ZIP64");
        add("more entries than the directory holds", patched("count-more", zip, b -> b.putShort(eocd + 10, (short) 50)), "central directory entry");
        add("a multi-disk archive", patched("multi-disk", zip, b -> b.putShort(eocd + 4, (short) 3)), "multi-disk");
        add("a stored entry whose sizes differ", patched("stored-sizes", zip, b -> b.putInt(central + 24, 9999)), "sizes differ");
        add("a name that runs past the directory", patched("name-length", zip, b -> b.putShort(central + 28, (short) 0x7FFF)), "runs past");
        byte[] deflated = deflatedArchive(ordered("archive/data.pkl", good, "archive/data/0", STORAGE));
        int dc = indexOf(deflated, 0x02014b50);
        add("a deflated entry declaring 2 GB", patched("deflate-bomb", deflated, b -> b.putInt(dc + 24, Integer.MAX_VALUE)), "refusing to inflate");
        add("a deflated entry with a bad CRC", patched("deflate-crc", deflated, b -> b.putInt(dc + 16, 12345)), "CRC");
        add("a deflated entry declaring one byte more", patched("deflate-size", deflated, b -> b.putInt(dc + 24, b.getInt(dc + 24) + 1)),
                "inflates to a size other than");
        int data = indexOf(deflated, 0x04034b50) + 30 + "archive/data.pkl".length();
        add("corrupt deflate data", patched("deflate-corrupt", deflated, b -> {
            for (int i = data; i < data + 8; i++) b.put(i, (byte) 0xFF);
        }), "archive/data.pkl");
        byte[] twins = archive(ordered("archive/data.pkl", good, "archive/data/0", STORAGE, "archive/data/1", STORAGE));
        int last = lastIndexOf(twins, 0x02014b50);
        add("two entries with one name", patched("duplicate-name", twins, b -> b.put(last + 46,
                "archive/data/0".getBytes(StandardCharsets.UTF_8))), "appears twice");
    }

    private Path patched(String name, byte[] zip, Consumer<ByteBuffer> patch) {
        byte[] copy = zip.clone();
        patch.accept(ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN));
        return HostileFiles.write(file(name), copy);
    }

    static byte[] archive(Map<String, byte[]> entries) {
        return zip(entries, false);
    }

    static byte[] deflatedArchive(Map<String, byte[]> entries) {
        return zip(entries, true);
    }

    private static byte[] zip(Map<String, byte[]> entries, boolean deflate) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (var e : entries.entrySet()) {
                ZipEntry z = new ZipEntry(e.getKey());
                if (!deflate) {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    z.setMethod(ZipEntry.STORED);
                    z.setSize(e.getValue().length);
                    z.setCompressedSize(e.getValue().length);
                    z.setCrc(crc.getValue());
                }
                zip.putNextEntry(z);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static int indexOf(byte[] b, int signature) {
        for (int i = 0; i + 4 <= b.length; i++) if (ByteBuffer.wrap(b, i, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() == signature) return i;
        throw new IllegalArgumentException("signature not found");
    }

    private static int lastIndexOf(byte[] b, int signature) {
        for (int i = b.length - 4; i >= 0; i--) if (ByteBuffer.wrap(b, i, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() == signature) return i;
        throw new IllegalArgumentException("signature not found");
    }

    /** Entries in the order given, as torch.save writes the pickle first. */
    private static Map<String, byte[]> ordered(Object... nameThenBytes) {
        Map<String, byte[]> m = new LinkedHashMap<>();
        for (int i = 0; i < nameThenBytes.length; i += 2) m.put((String) nameThenBytes[i], (byte[]) nameThenBytes[i + 1]);
        return m;
    }

    private static byte[] le(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

}
