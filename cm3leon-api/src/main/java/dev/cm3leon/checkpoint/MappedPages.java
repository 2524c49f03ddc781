package dev.cm3leon.checkpoint;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * Access-pattern hints for memory-mapped checkpoint regions ({@code madvise(2)} on Linux).
 *
 * <p>An embedding table is read a row per token. Without a hint the kernel reads ahead around every row that faults
 * (up to {@code read_ahead_kb}, 8 MiB on some hosts), and those pages become resident: a 512-token prompt could read
 * and keep most of a 7 B model's 0.5 GiB table. Marked random, a cold table costs one page per row used.
 *
 * <p>Hints are best effort: where the platform is not Linux, the segment is not mapped, or this module may not call
 * native code ({@code --enable-native-access}), nothing happens and nothing is printed.
 */
public final class MappedPages {
    private static final Logger log = LoggerFactory.getLogger(MappedPages.class);
    private static final int MADV_RANDOM = 1;
    /** x86-64's page; where pages are larger the aligned start is refused (EINVAL) and the hint is simply not given. */
    private static final long PAGE = 4096;
    private static final MethodHandle MADVISE = madvise();

    private MappedPages() {
    }

    private static MethodHandle madvise() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) return null;
        if (!MappedPages.class.getModule().isNativeAccessEnabled()) return null;
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("madvise").map(f -> linker.downcallHandle(f,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException e) {
            log.debug("no madvise: {}", e.toString());
            return null;
        }
    }

    /**
     * Marks the pages under {@code segment} as read in random order (no read-ahead). The range is widened to whole
     * pages; the hint changes what the kernel reads ahead, never what the segment holds.
     *
     * @return whether the hint was given
     */
    public static boolean adviseRandom(MemorySegment segment) {
        if (MADVISE == null || !segment.isMapped() || segment.byteSize() == 0) return false;
        long start = segment.address() & -PAGE;
        long length = segment.address() + segment.byteSize() - start;
        try {
            int rc = (int) MADVISE.invokeExact(start, length, MADV_RANDOM);
            if (rc != 0) log.debug("madvise(MADV_RANDOM) on {} bytes returned {}", length, rc);
            return rc == 0;
        } catch (Throwable e) {
            log.debug("madvise failed: {}", e.toString());
            return false;
        }
    }
}
