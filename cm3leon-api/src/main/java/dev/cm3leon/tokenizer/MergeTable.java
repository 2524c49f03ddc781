package dev.cm3leon.tokenizer;

import java.util.Arrays;

/**
 * The BPE merges as a hash table from a pair of token ids to the merge's rank and the id of the merged token, with
 * open addressing over primitive arrays: the merge loop looks pairs up millions of times per megabyte of text.
 */
final class MergeTable {
    private static final long EMPTY = -1L;

    private final long[] keys;
    private final int[] ranks;
    private final int[] newIds;
    private final int mask;
    private int size;

    MergeTable(int expectedMerges) {
        int capacity = Integer.highestOneBit(Math.max(4, expectedMerges * 2 - 1)) << 1;
        keys = new long[capacity];
        Arrays.fill(keys, EMPTY);
        ranks = new int[capacity];
        newIds = new int[capacity];
        mask = capacity - 1;
    }

    /** Records a merge; a pair listed twice keeps its later rank, as HF's map does. */
    void put(int left, int right, int rank, int newId) {
        long key = key(left, right);
        int slot = slotOf(key);
        if (keys[slot] == EMPTY) {
            if (size + 1 > keys.length / 2) {
                throw new IllegalStateException("merge table is full");
            }
            keys[slot] = key;
            size++;
        }
        ranks[slot] = rank;
        newIds[slot] = newId;
    }

    /** The slot holding the merge of {@code left} and {@code right}, or -1 if the pair does not merge. */
    int find(int left, int right) {
        long key = key(left, right);
        int slot = slotOf(key);
        return keys[slot] == EMPTY ? -1 : slot;
    }

    int rank(int slot) {
        return ranks[slot];
    }

    int newId(int slot) {
        return newIds[slot];
    }

    private int slotOf(long key) {
        int slot = (int) mix(key) & mask;
        while (keys[slot] != EMPTY && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        return slot;
    }

    private static long key(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static long mix(long x) {
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        return x;
    }
}
