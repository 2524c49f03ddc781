package dev.cm3leon.testing;

import javax.management.ObjectName;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the JVM holds: heap after a full collection, resident set size, and native memory as NMT counts it (when the
 * JVM runs with {@code -XX:NativeMemoryTracking=summary}).
 */
public final class MemoryProbe {
    private static final Pattern NMT_TOTAL = Pattern.compile("Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_HEAP = Pattern.compile("Java Heap \\(reserved=(\\d+)KB, committed=(\\d+)KB");

    /**
     * One reading, in bytes. {@code nativeCommitted} is what NMT counts outside the Java heap (threads, code, GC
     * structures, metaspace, direct and mapped buffers…), -1 without NMT; {@code rss} is -1 off Linux.
     */
    public record Reading(long heapUsed, long heapCommitted, long rss, long nativeCommitted) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "heap used after GC %s (committed %s), RSS %s, native (NMT, outside the heap) %s",
                    mib(heapUsed), mib(heapCommitted), mib(rss), mib(nativeCommitted));
        }

        private static String mib(long bytes) {
            return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
        }
    }

    private MemoryProbe() {
    }

    /** Collects until the heap stops shrinking, then reads. */
    public static Reading read() {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            if (now >= used - (256 << 10)) {
                used = Math.min(used, now);
                break;
            }
            used = now;
        }
        return new Reading(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getCommitted(), rss(), nativeCommitted());
    }

    static long rss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    static long nativeCommitted() {
        try {
            String out = String.valueOf(ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[]{new String[]{"summary"}}, new String[]{String[].class.getName()}));
            Matcher total = NMT_TOTAL.matcher(out), heap = NMT_HEAP.matcher(out);
            if (!total.find() || !heap.find()) return -1;
            return (Long.parseLong(total.group(2)) - Long.parseLong(heap.group(2))) * 1024;
        } catch (Exception e) {
            return -1;
        }
    }
}
