package dev.cm3leon.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What Linux says about this process and machine ({@code /proc}); zero or "unknown CPU" elsewhere. */
final class MemoryStatus {
    private MemoryStatus() {
    }

    /** Resident set size (VmRSS): heap, native memory and the pages of mapped files that are in memory. */
    static long rssBytes() {
        return status("VmRSS:");
    }

    /** The peak resident set size so far (VmHWM). */
    static long peakRssBytes() {
        return status("VmHWM:");
    }

    /** Resident pages of mapped files (the weights, the JDK's own files). */
    static long fileBytes() {
        return status("RssFile:");
    }

    /** Resident anonymous memory: the Java heap, the KV caches, JIT code, thread stacks. */
    static long anonBytes() {
        return status("RssAnon:");
    }

    private static long status(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
        return 0;
    }

    static String cpuName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).strip();
            }
        } catch (IOException e) {
            return "unknown CPU";
        }
        return "unknown CPU";
    }
}
