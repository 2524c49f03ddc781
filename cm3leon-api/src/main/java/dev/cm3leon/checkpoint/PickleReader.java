package dev.cm3leon.checkpoint;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader that builds data and executes nothing. It understands the opcodes that plain containers and
 * primitives need (protocols 0–5 as {@code torch.save} writes them); a {@code GLOBAL} is only accepted when its name
 * is on the caller's list, and what a {@code REDUCE} or persistent id means is decided by the caller's
 * {@link Resolver}, never by importing or calling anything. Any other opcode is refused.
 *
 * <p>Values: {@code null}, {@link Boolean}, {@link Long}, {@link Double}, {@link String}, {@code byte[]},
 * {@link List} (a Python list), {@link Tuple}, {@link Map} (a dict, insertion-ordered), {@link Global}, or whatever
 * the resolver returns.
 */
final class PickleReader {
    private static final int MAX_DEPTH = 10_000;
    /** Far more than torch.save writes (a few entries per tensor); each entry costs heap, so a flood is refused. */
    private static final int MAX_MEMO = 1 << 20;
    /** Dict keys are names and small tuples in a checkpoint; deeper ones would recurse when hashed. */
    private static final int MAX_KEY_DEPTH = 32;

    /** A module-level name a pickle refers to, e.g. {@code torch._utils._rebuild_tensor_v2}. */
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** A Python tuple. */
    record Tuple(List<Object> items) {
        Tuple {
            items = Collections.unmodifiableList(new ArrayList<>(items));
        }

        int size() {
            return items.size();
        }

        Object get(int i) {
            return items.get(i);
        }
    }

    /** Gives meaning to the two opcodes that would otherwise run code. */
    interface Resolver {
        /** {@code BINPERSID}: an object stored outside the pickle (PyTorch: a tensor storage). */
        Object persistentLoad(Object pid);

        /** {@code REDUCE} of an allowed global with its arguments. */
        Object call(Global callable, Tuple args);
    }

    private static final Object MARK = new Object() {
        @Override
        public String toString() {
            return "MARK";
        }
    };

    private final Path file;
    private final MemorySegment data;
    private final Set<String> allowedGlobals;
    private final Resolver resolver;
    private final List<Object> stack = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private long pos;

    private PickleReader(Path file, MemorySegment data, Set<String> allowedGlobals, Resolver resolver) {
        this.file = file;
        this.data = data;
        this.allowedGlobals = allowedGlobals;
        this.resolver = resolver;
    }

    /** Reads one pickled object; {@code file} names the archive in error messages. */
    static Object read(Path file, MemorySegment data, Set<String> allowedGlobals, Resolver resolver) {
        return new PickleReader(file, data, allowedGlobals, resolver).run();
    }

    private CheckpointException error(String what) {
        return CheckpointException.of(file, "pickle at byte " + pos + ": " + what);
    }

    private Object run() {
        while (true) {
            if (stack.size() > MAX_DEPTH * 100) throw error("stack grows beyond " + MAX_DEPTH * 100 + " items");
            long at = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = u8();
                    if (proto > 5) throw error("pickle protocol " + proto + " is not supported");
                }
                case 0x95 -> skip(8); // FRAME: a length hint only
                case '.' -> { // STOP
                    if (stack.size() != 1) throw error("STOP with " + stack.size() + " items on the stack");
                    return checkNotMark(stack.getFirst());
                }
                case '(' -> stack.add(MARK);
                case '}' -> stack.add(new LinkedHashMap<>());
                case ']' -> stack.add(new ArrayList<>());
                case ')' -> stack.add(new Tuple(List.of()));
                case 'N' -> stack.add(null);
                case 0x88 -> stack.add(Boolean.TRUE);
                case 0x89 -> stack.add(Boolean.FALSE);
                case 'K' -> stack.add((long) u8());
                case 'M' -> stack.add((long) (u8() | u8() << 8));
                case 'J' -> stack.add((long) data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), take(4)));
                case 0x8a -> stack.add(longOf(u8())); // LONG1
                case 0x8b -> stack.add(longOf(length(u32()))); // LONG4
                case 'G' -> stack.add(data.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), take(8)));
                case 'X' -> stack.add(utf8(length(u32()))); // BINUNICODE
                case 0x8c -> stack.add(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> stack.add(utf8(length(u64()))); // BINUNICODE8
                case 'T' -> stack.add(latin1(length(u32()))); // BINSTRING
                case 'U' -> stack.add(latin1(u8())); // SHORT_BINSTRING
                case 'B' -> stack.add(bytes(length(u32()))); // BINBYTES
                case 'C' -> stack.add(bytes(u8())); // SHORT_BINBYTES
                case 0x8e -> stack.add(bytes(length(u64()))); // BINBYTES8
                case 0x85 -> stack.add(new Tuple(popN(1)));
                case 0x86 -> stack.add(new Tuple(popN(2)));
                case 0x87 -> stack.add(new Tuple(popN(3)));
                case 't' -> stack.add(new Tuple(popToMark()));
                case 'l' -> stack.add(new ArrayList<>(popToMark()));
                case 'd' -> {
                    List<Object> kv = popToMark();
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    putPairs(dict, kv);
                    stack.add(dict);
                }
                case 's' -> { // SETITEM
                    List<Object> kv = popN(2);
                    putPairs(dict(peek()), kv);
                }
                case 'u' -> { // SETITEMS
                    List<Object> kv = popToMark();
                    putPairs(dict(peek()), kv);
                }
                case 'a' -> list(peekBelow(1)).add(checkNotMark(pop()));
                case 'e' -> { // APPENDS
                    List<Object> items = popToMark();
                    list(peek()).addAll(items);
                }
                case 'q' -> memoPut(u8()); // BINPUT
                case 'r' -> memoPut(u32()); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'h' -> stack.add(memoGet(u8())); // BINGET
                case 'j' -> stack.add(memoGet(u32())); // LONG_BINGET
                case 'c' -> stack.add(global(line(), line()));
                case 0x93 -> { // STACK_GLOBAL
                    List<Object> mn = popN(2);
                    if (!(mn.get(0) instanceof String m) || !(mn.get(1) instanceof String n)) throw error("STACK_GLOBAL needs two strings");
                    stack.add(global(m, n));
                }
                case 'Q' -> stack.add(resolver.persistentLoad(checkNotMark(pop()))); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    if (!(callable instanceof Global g)) throw error("REDUCE of something that is not an allowed global: " + describe(callable));
                    if (!(args instanceof Tuple t)) throw error("REDUCE arguments must be a tuple, found " + describe(args));
                    stack.add(resolver.call(g, t));
                }
                case '0' -> pop(); // POP
                case '2' -> stack.add(checkNotMark(peek())); // DUP
                default -> {
                    pos = at;
                    throw error("opcode 0x" + Integer.toHexString(op) + printable(op) + " is not supported by this "
                            + "restricted reader");
                }
            }
        }
    }

    private static String printable(int op) {
        return op >= 0x20 && op < 0x7f ? " ('" + (char) op + "')" : "";
    }

    private Global global(String module, String name) {
        Global g = new Global(module, name);
        if (!allowedGlobals.contains(g.qualified())) {
            throw error("refers to global '" + g.qualified() + "', which is not allowed (a checkpoint may only "
                    + "reference tensor rebuild functions, storage types and OrderedDict)");
        }
        return g;
    }

    private void putPairs(Map<Object, Object> dict, List<Object> kv) {
        if (kv.size() % 2 != 0) throw error("a dict needs key/value pairs, found " + kv.size() + " items");
        for (int i = 0; i < kv.size(); i += 2) {
            Object key = kv.get(i);
            if (!hashable(key, 0)) throw error("unhashable dict key " + describe(key));
            dict.put(key, kv.get(i + 1));
        }
    }

    /**
     * As Python decides it, and so that hashing cannot recurse without end: no list or dict at any depth (a cycle
     * must pass through one), tuples at most {@link #MAX_KEY_DEPTH} deep.
     */
    private static boolean hashable(Object key, int depth) {
        if (key instanceof List<?> || key instanceof Map<?, ?> || depth > MAX_KEY_DEPTH) return false;
        if (key instanceof Tuple t) {
            for (Object item : t.items()) if (!hashable(item, depth + 1)) return false;
        }
        return true;
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) {
        if (o instanceof Map<?, ?> m) return (Map<Object, Object>) m;
        throw error("SETITEM(S) on " + describe(o) + ", not a dict");
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) {
        if (o instanceof List<?> l) return (List<Object>) l;
        throw error("APPEND(S) on " + describe(o) + ", not a list");
    }

    /**
     * What a pickled value is, for error messages, without printing it: values may be huge, nested a million deep or
     * cyclic, and {@code toString} would then never end.
     */
    static String describe(Object o) {
        return switch (o) {
            case null -> "None";
            case Global g -> "global " + g.qualified();
            case String s -> s.length() <= 64 ? "'" + s + "'" : "a string of " + s.length() + " characters";
            case Long l -> l.toString();
            case Tuple t -> "a tuple of " + t.size();
            case List<?> l -> "a list of " + l.size();
            case Map<?, ?> m -> "a dict of " + m.size();
            default -> o.getClass().getSimpleName();
        };
    }

    private void memoPut(long index) {
        if (stack.isEmpty()) throw error("memo store from an empty stack");
        if (memo.size() >= MAX_MEMO) throw error("memo grows beyond " + MAX_MEMO + " entries");
        memo.put(index, checkNotMark(peek()));
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) throw error("memo entry " + index + " was never stored");
        return memo.get(index);
    }

    private Object checkNotMark(Object o) {
        if (o == MARK) throw error("unexpected MARK");
        return o;
    }

    private Object peek() {
        if (stack.isEmpty()) throw error("stack underflow");
        return stack.getLast();
    }

    private Object peekBelow(int n) {
        if (stack.size() <= n) throw error("stack underflow");
        return stack.get(stack.size() - 1 - n);
    }

    private Object pop() {
        if (stack.isEmpty()) throw error("stack underflow");
        return stack.removeLast();
    }

    private List<Object> popN(int n) {
        if (stack.size() < n) throw error("stack underflow");
        List<Object> top = new ArrayList<>(stack.subList(stack.size() - n, stack.size()));
        stack.subList(stack.size() - n, stack.size()).clear();
        for (Object o : top) checkNotMark(o);
        return top;
    }

    private List<Object> popToMark() {
        int mark = stack.lastIndexOf(MARK);
        if (mark < 0) throw error("no MARK on the stack");
        List<Object> items = new ArrayList<>(stack.subList(mark + 1, stack.size()));
        stack.subList(mark, stack.size()).clear();
        return items;
    }

    private long take(long n) {
        if (n < 0 || pos + n > data.byteSize()) throw error("pickle ends early (needs " + n + " more bytes)");
        long at = pos;
        pos += n;
        return at;
    }

    private void skip(long n) {
        take(n);
    }

    private int u8() {
        return data.get(ValueLayout.JAVA_BYTE, take(1)) & 0xFF;
    }

    private long u32() {
        return data.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), take(4)) & 0xFFFFFFFFL;
    }

    private long u64() {
        return data.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), take(8));
    }

    /** A length read from the pickle, bounded by what is left of it. */
    private int length(long n) {
        if (n < 0 || n > data.byteSize() - pos || n > Integer.MAX_VALUE - 8) throw error("length " + n + " runs past the pickle");
        return (int) n;
    }

    private byte[] bytes(int n) {
        long at = take(n);
        return data.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE);
    }

    private String utf8(int n) {
        return new String(bytes(n), StandardCharsets.UTF_8);
    }

    private String latin1(int n) {
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    /** A text line (GLOBAL's module and name), bounded in length. */
    private String line() {
        StringBuilder sb = new StringBuilder();
        while (true) {
            int c = u8();
            if (c == '\n') return sb.toString();
            if (sb.length() > 1024) throw error("GLOBAL name longer than 1024 characters");
            sb.append((char) c);
        }
    }

    /** A little-endian two's-complement integer of {@code n} bytes; it must fit in a long. */
    private Long longOf(int n) {
        byte[] le = bytes(n);
        if (n == 0) return 0L;
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = le[n - 1 - i];
        BigInteger v = new BigInteger(be);
        if (v.bitLength() > 63) throw error("integer " + (v.bitLength() > 256 ? "of " + v.bitLength() + " bits" : v) + " does not fit in 64 bits");
        return v.longValue();
    }
}
