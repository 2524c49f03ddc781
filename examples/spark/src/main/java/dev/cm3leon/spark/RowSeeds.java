package dev.cm3leon.spark;

import java.nio.charset.StandardCharsets;

/**
 * The seed of a row without one of its own: a function of the job seed and the row's id only, never of the
 * partition, the task attempt or the executor, so that a retried or re-run task draws the same images.
 */
final class RowSeeds {
    private RowSeeds() {
    }

    static long of(long jobSeed, String id) {
        long h = 0xcbf29ce484222325L;                       // FNV-1a over the id's UTF-8 bytes
        for (byte b : id.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return mix(h ^ mix(jobSeed));
    }

    /** SplitMix64's finaliser: nearby ids and seeds give unrelated seeds. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
