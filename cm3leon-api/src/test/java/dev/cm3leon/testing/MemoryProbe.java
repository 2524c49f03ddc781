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

    /** One reading. Sizes in bytes; {@code nmtCommitted} is -1 without NMT, {@code rss} -1 off Linux. */
    public record Reading(long heapUsed, long rss, long nmtCommitted) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "heap %.1f MiB, RSS %s, NMT committed %s", heapUsed / 1048576.0, mib(rss), mib(nmtCommitted));
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
        return new Reading(used, rss(), nmtCommitted());
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

    static long nmtCommitted() {
        try {
            Object out = ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "vmNativeMemory", new Object[]{new String[]{"summary"}}, new String[]{String[].class.getName()});
            Matcher m = NMT_TOTAL.matcher(String.valueOf(out));
            return m.find() ? Long.parseLong(m.group(2)) * 1024 : -1;
        } catch (Exception e) {
            return -1;
        }
    }
}
