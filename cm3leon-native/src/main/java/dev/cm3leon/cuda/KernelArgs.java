package dev.cm3leon.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A kernel's arguments as cuLaunchKernel takes them: an array of pointers, the i-th to the value of parameter i.
 * Reused launch after launch (the driver copies the values when the launch is made); not thread-safe.
 */
public final class KernelArgs {
    static final int MAX = 20;

    private final MemorySegment values, pointers;
    private int count;

    public KernelArgs(Arena arena) {
        values = arena.allocate(8L * MAX, 16);
        pointers = arena.allocate(ADDRESS, MAX);
        for (int i = 0; i < MAX; i++) pointers.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
    }

    /** Starts a new argument list. */
    public KernelArgs reset() {
        count = 0;
        return this;
    }

    /** A device pointer (0 for a null pointer). */
    public KernelArgs ptr(long devicePointer) {
        values.set(JAVA_LONG, 8L * next(), devicePointer);
        return this;
    }

    public KernelArgs i32(int v) {
        values.set(JAVA_INT, 8L * next(), v);
        return this;
    }

    public KernelArgs i64(long v) {
        values.set(JAVA_LONG, 8L * next(), v);
        return this;
    }

    public KernelArgs f32(float v) {
        values.set(JAVA_FLOAT, 8L * next(), v);
        return this;
    }

    private int next() {
        if (count == MAX) throw new IllegalStateException("more than " + MAX + " kernel arguments");
        return count++;
    }

    /** The {@code void**} to pass to the launch. */
    public MemorySegment pointers() {
        return pointers;
    }

    /** An independent copy of the current values (for launches recorded now and replayed later). */
    public KernelArgs copy(Arena arena) {
        KernelArgs c = new KernelArgs(arena);
        MemorySegment.copy(values, 0, c.values, 0, 8L * count);
        c.count = count;
        return c;
    }
}
