package dev.cm3leon.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;

/** A shared library opened for the life of the process, and downcall handles into it. */
final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    final String name;
    private final SymbolLookup lookup;

    private NativeLibrary(String name, SymbolLookup lookup) {
        this.name = name;
        this.lookup = lookup;
    }

    /**
     * The first of {@code candidates} (file names searched the dynamic loader's way, or paths) that opens; empty
     * when none does. Opening is the probe: a missing library is a clean {@link IllegalArgumentException} here,
     * never a broken class later.
     */
    static Optional<NativeLibrary> open(List<String> candidates) {
        for (String c : candidates) {
            if (c == null || c.isBlank()) continue;
            try {
                return Optional.of(new NativeLibrary(c, SymbolLookup.libraryLookup(c, Arena.global())));
            } catch (IllegalArgumentException | IllegalCallerException e) {
                // not here; try the next name
            }
        }
        return Optional.empty();
    }

    /** A downcall to the first of {@code names} the library exports (versioned names first, e.g. {@code _v2}). */
    MethodHandle function(FunctionDescriptor descriptor, String... names) {
        for (String n : names) {
            Optional<MemorySegment> symbol = lookup.find(n);
            if (symbol.isPresent()) return LINKER.downcallHandle(symbol.get(), descriptor);
        }
        throw new CudaException(name + " does not export " + String.join(" or ", names));
    }

    /** A NUL-terminated C string at {@code address}, or "" for NULL. */
    static String string(MemorySegment address) {
        return address.equals(MemorySegment.NULL) ? "" : address.reinterpret(4096).getString(0);
    }
}
