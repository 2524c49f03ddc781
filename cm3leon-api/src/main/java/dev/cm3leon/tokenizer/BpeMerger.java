package dev.cm3leon.tokenizer;

import java.util.Arrays;

/**
 * Applies BPE merges to one word in O(n log n): the symbols form a doubly linked list and the candidate merges sit in
 * a binary min-heap ordered by (rank, position), the order HF's {@code Word::merge_all} uses. A naive loop that scans
 * the word for the best pair after every merge is quadratic, which a megabyte-long word without spaces would expose.
 */
final class BpeMerger {
    private BpeMerger() {
    }

    /**
     * Merges the symbols in place and returns the ids left, in order.
     *
     * @param newIdByRank the id each merge produces, indexed by rank
     */
    static int[] mergeAll(int[] symbols, int count, MergeTable merges, int[] newIdByRank) {
        if (count < 2) {
            return Arrays.copyOf(symbols, count);
        }
        int[] prev = new int[count];
        int[] next = new int[count];
        boolean[] removed = new boolean[count];
        LongMinHeap queue = new LongMinHeap(count);
        for (int i = 0; i < count; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < count ? i + 1 : -1;
            if (i + 1 < count) {
                int slot = merges.find(symbols[i], symbols[i + 1]);
                if (slot >= 0) {
                    queue.push(entry(merges.rank(slot), i));
                }
            }
        }
        int left = count;
        while (!queue.isEmpty()) {
            long top = queue.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            int right = next[pos];
            if (removed[pos] || right < 0) {
                continue;
            }
            // A stale entry: the pair at pos changed since it was queued. HF compares the merged id, not the rank.
            int slot = merges.find(symbols[pos], symbols[right]);
            int newId = newIdByRank[rank];
            if (slot < 0 || merges.newId(slot) != newId) {
                continue;
            }
            symbols[pos] = newId;
            removed[right] = true;
            left--;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                int before = merges.find(symbols[prev[pos]], newId);
                if (before >= 0) {
                    queue.push(entry(merges.rank(before), prev[pos]));
                }
            }
            if (next[pos] >= 0) {
                int after = merges.find(newId, symbols[next[pos]]);
                if (after >= 0) {
                    queue.push(entry(merges.rank(after), pos));
                }
            }
        }
        int[] out = new int[left];
        for (int i = 0, o = 0; i < count; i++) {
            if (!removed[i]) {
                out[o++] = symbols[i];
            }
        }
        return out;
    }

    private static long entry(int rank, int pos) {
        return ((long) rank << 32) | pos;
    }

    /** A binary min-heap of {@code long}s. */
    private static final class LongMinHeap {
        private long[] heap;
        private int size;

        LongMinHeap(int capacity) {
            heap = new long[Math.max(capacity, 4)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long value) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= value) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = value;
        }

        long pop() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            int half = size >>> 1;
            while (i < half) {
                int child = 2 * i + 1;
                if (child + 1 < size && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (last <= heap[child]) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }
}
