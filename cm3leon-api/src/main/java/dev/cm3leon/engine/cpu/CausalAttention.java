package dev.cm3leon.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Causal attention of queries against the cached keys and values of their stream, with an online softmax: keys are
 * visited in blocks, the running maximum and sum rescale what was accumulated so far. Memory is one block of scores
 * per call, whatever the context length, so a long prefill needs no [T, T] matrix. A decode row takes all its heads
 * at once in pieces of positions ({@link #attendPiece}); a prompt's rows take one head at a time, several queries
 * together ({@link #attendQueries}).
 */
final class CausalAttention {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());

    private CausalAttention() {
    }

    /**
     * Positions one piece of a decode query's attention covers. Fixed, so that a row's result depends on its context
     * length only, never on the thread count or on the other rows of the pass (seeded requests give the same bits
     * alone and batched).
     */
    static final int PIECE_POSITIONS = 128;

    /** Positions of one block of scores in {@link #attendPiece}. */
    static final int PIECE_BLOCK = 32;

    /** Floats of one piece's partial result: sums [heads·hd], then max [heads], then the softmax sum [heads]. */
    static int pieceSize(int heads, int hd) {
        return heads * hd + 2 * heads;
    }

    /** Scratch for {@link #attendPiece}: [heads, PIECE_BLOCK] scores. */
    static float[] pieceScratch(int heads) {
        return new float[heads * PIECE_BLOCK];
    }

    /**
     * Whether a piece over a bf16 cache keeps its sums in pair order: within each 2L values, the L even-indexed ones,
     * then the L odd-indexed ones. That is how one 32-bit lane of a load holds two bf16 values, so each widens with a
     * shift or a mask, no shuffle ({@link #dotPairs}); the query goes in that order too ({@link #toPairOrder}), and
     * {@link #mergePieces} restores the natural one.
     */
    static boolean inPairOrder(boolean bf16, int hd) {
        return bf16 && hd % (2 * L) == 0;
    }

    /** dst[dstOff + pairIndex(i)] = q[qOff + i] for the n = heads·hd values of one query row. */
    static void toPairOrder(float[] q, int qOff, int n, int hd, float[] dst, int dstOff) {
        for (int i = 0; i < n; i++) dst[dstOff + pairIndex(i, hd)] = q[qOff + i];
    }

    /**
     * All heads of one query row over positions [p0, p1) of its cache, unnormalised: {@code piece[off + h·hd, +hd) =
     * Σ_j exp(s_hj − m_h) · V_j}, with m_h the largest score (at {@code off + heads·hd + h}) and Σ_j exp(s_hj − m_h)
     * after it (at {@code off + heads·hd + heads + h}); {@link #mergePieces} joins a row's pieces. The query is in pair
     * order where {@link #inPairOrder} holds ({@link #toPairOrder}, once per row for all its pieces). Every head of a
     * position is read at once, so the walk runs through the cache row after row; head by head it would stride a
     * whole row (kvDim values) from key to key, a new page each time, where the prefetchers stop.
     */
    static void attendPiece(float[] q, int qOff, int heads, int group, int hd, MemorySegment keys, MemorySegment values,
                            int kvDim, int p0, int p1, float scale, boolean bf16, float[] piece, int off, float[] scores) {
        int es = bf16 ? 2 : Float.BYTES, maxAt = off + heads * hd, sumAt = maxAt + heads;
        boolean pairs = inPairOrder(bf16, hd);
        long rowBytes = (long) kvDim * es, headBytes = (long) hd * es;
        int kvHeads = heads / group;
        Arrays.fill(piece, off, off + pieceSize(heads, hd), 0f);
        Arrays.fill(piece, maxAt, maxAt + heads, Float.NEGATIVE_INFINITY);
        for (int j0 = p0; j0 < p1; j0 += PIECE_BLOCK) {
            int len = Math.min(PIECE_BLOCK, p1 - j0);
            long first = (long) j0 * rowBytes;
            for (int j = 0; j < len; j++) {                                  // scores [heads, len]: row by row
                long row = first + j * rowBytes;
                for (int kh = 0, h = 0; kh < kvHeads; kh++) {                  // the group of query heads of a kv head
                    long at = row + kh * headBytes;
                    for (int g = 0; g < group; g++, h++) {
                        float d = pairs ? dotPairs(q, qOff + h * hd, keys, at, hd)
                                : bf16 ? dotBf16(q, qOff + h * hd, keys, at, hd) : dot(q, qOff + h * hd, keys, at, hd);
                        scores[h * PIECE_BLOCK + j] = d * scale;
                    }
                }
            }
            for (int h = 0; h < heads; h++) {                                // online softmax per head
                float blockMax = Float.NEGATIVE_INFINITY, max = piece[maxAt + h];
                for (int j = 0; j < len; j++) blockMax = Math.max(blockMax, scores[h * PIECE_BLOCK + j]);
                if (blockMax > max) {
                    // A larger maximum: what was summed so far was exponentiated against the old one.
                    if (max != Float.NEGATIVE_INFINITY) {
                        float rescale = (float) Math.exp(max - blockMax);
                        piece[sumAt + h] *= rescale;
                        CpuOps.scale(piece, off + h * hd, hd, rescale);
                    }
                    max = blockMax;
                    piece[maxAt + h] = max;
                }
                piece[sumAt + h] += exponentials(scores, h * PIECE_BLOCK, len, max);
            }
            for (int j = 0; j < len; j++) {                                  // values, row by row
                long row = first + j * rowBytes;
                for (int kh = 0, h = 0; kh < kvHeads; kh++) {
                    long at = row + kh * headBytes;
                    for (int g = 0; g < group; g++, h++) {
                        float pj = scores[h * PIECE_BLOCK + j];
                        if (pairs) axpyPairs(pj, values, at, piece, off + h * hd, hd);
                        else if (bf16) axpyBf16(pj, values, at, piece, off + h * hd, hd);
                        else axpy(pj, values, at, piece, off + h * hd, hd);
                    }
                }
            }
        }
    }

    /**
     * out[outOff + h·hd, +hd) = softmax attention of one row, from its {@code count} pieces at {@code piece[off +
     * i·pieceSize]} (consecutive position ranges, in order): each piece's sums rescaled to the largest maximum. {@code
     * pairs}: the pieces' sums are in pair order ({@link #inPairOrder}).
     */
    static void mergePieces(float[] piece, int off, int count, int heads, int hd, boolean pairs, float[] out, int outOff) {
        int size = pieceSize(heads, hd);
        for (int h = 0; h < heads; h++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < count; i++) max = Math.max(max, piece[off + i * size + heads * hd + h]);
            float sum = 0f;
            Arrays.fill(out, outOff + h * hd, outOff + h * hd + hd, 0f);
            for (int i = 0; i < count; i++) {
                int at = off + i * size;
                float w = count == 1 ? 1f : (float) Math.exp(piece[at + heads * hd + h] - max);
                sum += w * piece[at + heads * hd + heads + h];
                for (int d = 0; d < hd; d++) out[outOff + h * hd + d] += w * piece[at + h * hd + (pairs ? pairIndex(d, hd) : d)];
            }
            CpuOps.scale(out, outOff + h * hd, hd, 1f / sum);
        }
    }

    /** Where value i of a head's hd (i within [0, hd) of any head, hd a multiple of 2L) sits in pair order. */
    private static int pairIndex(int i, int hd) {
        int r = i % (2 * L);
        return i - r + (r % 2 == 0 ? r / 2 : L + r / 2);
    }

    /** Σ q[qOff+i] · bf16 s[at + 2i] for i &lt; n, q in pair order, n a multiple of 2L. */
    static float dotPairs(float[] q, int qOff, MemorySegment s, long at, int n) {
        FloatVector even = FloatVector.zero(F), odd = FloatVector.zero(F);
        for (int c = 0; c < n; c += 2 * L) {
            IntVector w = IntVector.fromMemorySegment(I, s, at + 2L * c, ByteOrder.LITTLE_ENDIAN);
            even = FloatVector.fromArray(F, q, qOff + c).fma(w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), even);
            odd = FloatVector.fromArray(F, q, qOff + c + L).fma(w.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats(), odd);
        }
        return even.add(odd).reduceLanes(VectorOperators.ADD);
    }

    /** y[yOff+i] += a · bf16 s[at + 2i] for i &lt; n, y in pair order, n a multiple of 2L. */
    static void axpyPairs(float a, MemorySegment s, long at, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        for (int c = 0; c < n; c += 2 * L) {
            IntVector w = IntVector.fromMemorySegment(I, s, at + 2L * c, ByteOrder.LITTLE_ENDIAN);
            w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(av, FloatVector.fromArray(F, y, yOff + c)).intoArray(y, yOff + c);
            w.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats().fma(av, FloatVector.fromArray(F, y, yOff + c + L))
                    .intoArray(y, yOff + c + L);
        }
    }

    /** scores[off + j] = exp(scores[off + j] − max) for j &lt; len, a vector at a time; returns their sum. */
    static float exponentials(float[] scores, int off, int len, float max) {
        FloatVector m = FloatVector.broadcast(F, max), acc = FloatVector.zero(F);
        int j = 0;
        for (int upper = F.loopBound(len); j < upper; j += L) {
            FloatVector p = FloatVector.fromArray(F, scores, off + j).sub(m).lanewise(VectorOperators.EXP);
            p.intoArray(scores, off + j);
            acc = acc.add(p);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; j < len; j++) {
            float p = (float) Math.exp(scores[off + j] - max);
            scores[off + j] = p;
            sum += p;
        }
        return sum;
    }

    /** Queries of one prompt that {@link #attendQueries} takes at once (their keys are transposed once for all). */
    static final int QUERY_BLOCK = 32;

    /**
     * {@link #attend} for {@code count} queries of one stream's prompt and one head, query g at {@code q[qOff + g·qStride]}
     * attending to positions [0, ctx[g]), its output at {@code out[outOff + g·qStride]}. Keys are read in blocks of one
     * vector's width, transposed once for all the queries ([hd, L]), so each query's scores for a block are hd FMAs
     * with no lane reduction per key; the online softmax then runs per block. A query's result depends only on its
     * own q and context, not on the queries beside it. {@code scratch} from {@link #queryScratch}.
     */
    static void attendQueries(float[] q, int qOff, int qStride, int count, int[] ctx, MemorySegment keys,
                              MemorySegment values, int kvOff, int kvDim, int hd, float scale, float[] out, int outOff,
                              float[] scratch, boolean bf16) {
        int es = bf16 ? 2 : Float.BYTES;
        float[] kt = scratch;                                   // [hd][L], then max [count], sum [count], p [L]
        int maxAt = hd * L, sumAt = maxAt + count, pAt = sumAt + count;
        int longest = 0;
        for (int g = 0; g < count; g++) {
            longest = Math.max(longest, ctx[g]);
            Arrays.fill(out, outOff + g * qStride, outOff + g * qStride + hd, 0f);
            scratch[maxAt + g] = Float.NEGATIVE_INFINITY;
            scratch[sumAt + g] = 0f;
        }
        for (int j0 = 0; j0 < longest; j0 += L) {
            int len = Math.min(L, longest - j0);
            for (int jj = 0; jj < L; jj++) {
                long at = ((long) (j0 + jj) * kvDim + kvOff) * es;
                for (int dd = 0; dd < hd; dd++) {
                    kt[dd * L + jj] = jj >= len ? 0f
                            : bf16 ? bf16At(keys, at + 2L * dd) : keys.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + 4L * dd);
                }
            }
            for (int g = 0; g < count; g++) {
                int valid = Math.min(len, ctx[g] - j0), qo = qOff + g * qStride, oo = outOff + g * qStride;
                if (valid <= 0) continue;
                FloatVector acc = FloatVector.zero(F);
                for (int dd = 0; dd < hd; dd++) acc = FloatVector.broadcast(F, q[qo + dd]).fma(FloatVector.fromArray(F, kt, dd * L), acc);
                acc.mul(scale).intoArray(scratch, pAt);
                float blockMax = Float.NEGATIVE_INFINITY;
                for (int jj = 0; jj < valid; jj++) blockMax = Math.max(blockMax, scratch[pAt + jj]);
                float max = scratch[maxAt + g];
                if (blockMax > max) {
                    // A larger maximum: what was summed so far was exponentiated against the old one.
                    float rescale = (float) Math.exp(max - blockMax);
                    scratch[sumAt + g] *= rescale;
                    if (max != Float.NEGATIVE_INFINITY) CpuOps.scale(out, oo, hd, rescale);
                    max = blockMax;
                    scratch[maxAt + g] = max;
                }
                for (int jj = 0; jj < valid; jj++) {
                    float p = (float) Math.exp(scratch[pAt + jj] - max);
                    scratch[sumAt + g] += p;
                    long at = ((long) (j0 + jj) * kvDim + kvOff) * es;
                    if (bf16) axpyBf16(p, values, at, out, oo, hd);
                    else axpy(p, values, at, out, oo, hd);
                }
            }
        }
        for (int g = 0; g < count; g++) CpuOps.scale(out, outOff + g * qStride, hd, 1f / scratch[sumAt + g]);
    }

    /** Scratch for {@link #attendQueries} of up to {@link #QUERY_BLOCK} queries. */
    static float[] queryScratch(int hd) {
        return new float[hd * L + 2 * QUERY_BLOCK + L];
    }

    /** Σ q[qOff+i] · s[at + 4i] for i &lt; n. */
    static float dot(float[] q, int qOff, MemorySegment s, long at, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            acc = FloatVector.fromArray(F, q, qOff + i).fma(FloatVector.fromMemorySegment(F, s, at + 4L * i, ByteOrder.nativeOrder()), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);   // a tree of shuffles: lane by lane was twice the time
        for (; i < n; i++) sum += q[qOff + i] * s.get(ValueLayout.JAVA_FLOAT, at + 4L * i);
        return sum;
    }

    /** y[yOff+i] += a · s[at + 4i] for i &lt; n. */
    static void axpy(float a, MemorySegment s, long at, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            FloatVector.fromMemorySegment(F, s, at + 4L * i, ByteOrder.nativeOrder()).fma(av, FloatVector.fromArray(F, y, yOff + i))
                    .intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * s.get(ValueLayout.JAVA_FLOAT, at + 4L * i);
    }

    /** L bf16 values from byte offset {@code at}, widened to f32. */
    private static FloatVector bf16(MemorySegment s, long at) {
        ShortVector v = ShortVector.fromMemorySegment(S, s, at, ByteOrder.LITTLE_ENDIAN);
        return ((IntVector) v.convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static float bf16At(MemorySegment s, long at) {
        return Float.intBitsToFloat((s.get(ValueLayout.JAVA_SHORT_UNALIGNED, at) & 0xFFFF) << 16);
    }

    /** Σ q[qOff+i] · bf16 s[at + 2i] for i &lt; n. */
    static float dotBf16(float[] q, int qOff, MemorySegment s, long at, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) acc = FloatVector.fromArray(F, q, qOff + i).fma(bf16(s, at + 2L * i), acc);
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) sum += q[qOff + i] * bf16At(s, at + 2L * i);
        return sum;
    }

    /** y[yOff+i] += a · bf16 s[at + 2i] for i &lt; n. */
    static void axpyBf16(float a, MemorySegment s, long at, float[] y, int yOff, int n) {
        FloatVector av = FloatVector.broadcast(F, a);
        int i = 0;
        for (int upper = F.loopBound(n); i < upper; i += L) {
            bf16(s, at + 2L * i).fma(av, FloatVector.fromArray(F, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (; i < n; i++) y[yOff + i] += a * bf16At(s, at + 2L * i);
    }
}
