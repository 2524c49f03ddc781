package dev.cm3leon.retrieval;

/** The indices of the k largest scores, best first (ties: lower index first), with a bounded min-heap. */
final class TopK {
    private TopK() {
    }

    static int[] largest(float[] scores, int n, int k) {
        k = Math.min(k, n);
        if (k <= 0) return new int[0];
        int[] heap = new int[k];                   // heap[0] is the worst kept index
        int size = 0;
        for (int i = 0; i < n; i++) {
            if (size < k) {
                heap[size] = i;
                up(heap, size++, scores);
            } else if (better(i, heap[0], scores)) {
                heap[0] = i;
                down(heap, size, scores);
            }
        }
        // pop worst-first into the tail
        int[] out = new int[size];
        for (int j = size - 1; j >= 0; j--) {
            out[j] = heap[0];
            heap[0] = heap[--size];
            down(heap, size, scores);
        }
        return out;
    }

    private static boolean better(int a, int b, float[] s) {
        return s[a] > s[b] || (s[a] == s[b] && a < b);
    }

    private static void up(int[] h, int i, float[] s) {
        while (i > 0) {
            int p = (i - 1) / 2;
            if (!better(h[p], h[i], s)) break;
            int t = h[p];
            h[p] = h[i];
            h[i] = t;
            i = p;
        }
    }

    private static void down(int[] h, int size, float[] s) {
        int i = 0;
        while (true) {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < size && better(h[worst], h[l], s)) worst = l;
            if (r < size && better(h[worst], h[r], s)) worst = r;
            if (worst == i) return;
            int t = h[worst];
            h[worst] = h[i];
            h[i] = t;
            i = worst;
        }
    }
}
