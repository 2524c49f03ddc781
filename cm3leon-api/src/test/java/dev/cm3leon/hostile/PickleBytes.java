package dev.cm3leon.hostile;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Pickle opcodes written by hand, so that a test can say exactly what a hostile pickle does. */
final class PickleBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static PickleBytes proto2() {
        return new PickleBytes().op(0x80).op(2);
    }

    PickleBytes op(int opcode) {
        out.write(opcode);
        return this;
    }

    PickleBytes raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    PickleBytes u32(long v) {
        return raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
    }

    PickleBytes u64(long v) {
        return raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
    }

    /** BINUNICODE. */
    PickleBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return op('X').u32(b.length).raw(b);
    }

    /** BININT1 for small values, else BININT. */
    PickleBytes integer(long v) {
        if (v >= 0 && v < 256) return op('K').op((int) v);
        return op('J').u32(v);
    }

    /** LONG1: an integer of any size, little-endian two's complement. */
    PickleBytes bigInteger(byte[] littleEndian) {
        return op(0x8a).op(littleEndian.length).raw(littleEndian);
    }

    /** GLOBAL: module and name as text lines, the form that pickle's find_class imports. */
    PickleBytes global(String module, String name) {
        return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** STACK_GLOBAL: the same, from two strings on the stack. */
    PickleBytes stackGlobal(String module, String name) {
        return str(module).str(name).op(0x93);
    }

    PickleBytes mark() {
        return op('(');
    }

    PickleBytes tuple() {
        return op('t');
    }

    PickleBytes emptyTuple() {
        return op(')');
    }

    PickleBytes emptyDict() {
        return op('}');
    }

    PickleBytes emptyList() {
        return op(']');
    }

    PickleBytes reduce() {
        return op('R');
    }

    PickleBytes setItem() {
        return op('s');
    }

    PickleBytes stop() {
        return op('.');
    }

    /** A tuple of integers. */
    PickleBytes ints(long... vs) {
        mark();
        for (long v : vs) integer(v);
        return tuple();
    }

    /** The persistent id torch.save writes for a storage: {@code ("storage", torch.<type>, key, "cpu", numel)}. */
    PickleBytes storage(String type, String key, long numel) {
        return mark().str("storage").global("torch", type).str(key).str("cpu").integer(numel).tuple().op('Q');
    }

    /** {@code _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}. */
    PickleBytes tensor(String type, String key, long numel, long offset, long[] size, long[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").mark();
        storage(type, key, numel).integer(offset).ints(size).ints(stride).op(0x89);
        global("collections", "OrderedDict").emptyTuple().reduce();
        return tuple().reduce();
    }

    /** {@code {"state_dict": {"w": <tensor>}}} around {@code tensor}, which must leave one tensor on the stack. */
    static byte[] stateDict(java.util.function.Consumer<PickleBytes> tensor) {
        PickleBytes p = proto2().emptyDict().str("state_dict").emptyDict().str("w");
        tensor.accept(p);
        return p.setItem().setItem().stop().bytes();
    }

    byte[] bytes() {
        return out.toByteArray();
    }
}
