package dev.cm3leon.cuda;

import dev.cm3leon.Cm3LeonException;
import dev.cm3leon.checkpoint.ModelConfig;
import dev.cm3leon.engine.KvCache;
import dev.cm3leon.engine.StreamStep;
import dev.cm3leon.engine.TokenDraw;

import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.function.IntUnaryOperator;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One engine step laid out for the device: the rows of all streams stacked (row r belongs to stream
 * {@code rowStream[r]} at position {@code rowPos[r]}), the rows whose logits are wanted, attention tiles for
 * prefill, and the draws of device sampling. {@link #write} fills one host descriptor that a single copy moves to
 * the device, where the kernels read it: a captured decode graph then serves every step of the same shape.
 *
 * <p>Descriptor layout (16-byte aligned sections): tokens[n] i32 | rowPos[n] i32 | rowStream[n] i32 |
 * streamKv[s] u64 | streamCap[s] i32 | logitRows[w] i32 | tiles[t] int4 | draws[d] DrawParams (64 B, common.cuh).
 */
final class StepPlan {
    static final int DRAW_BYTES = 64;

    final List<StreamStep> steps;
    final CudaKvCache[] caches;
    final int n, streams, wanted, draws, tileRows, tiles;
    final boolean decodeOnly;
    /** First row of each stream, and of each stream's wanted logits (−1 when none). */
    final int[] rowStart, logitStart;
    final long tokensAt, rowPosAt, rowStreamAt, streamKvAt, streamCapAt, logitRowsAt, tilesAt, drawsAt, bytes;
    private final List<TokenDraw> drawList;

    StepPlan(CudaEngine owner, ModelConfig c, List<StreamStep> steps, List<TokenDraw> drawList, int prefillTileRows) {
        this.steps = steps;
        this.drawList = drawList;
        streams = steps.size();
        if (streams == 0) throw new IllegalArgumentException("a step needs at least one stream");
        caches = new CudaKvCache[streams];
        rowStart = new int[streams + 1];
        logitStart = new int[streams];
        IdentityHashMap<KvCache, Boolean> seen = new IdentityHashMap<>();
        int w = 0;
        boolean single = true;
        for (int i = 0; i < streams; i++) {
            StreamStep st = steps.get(i);
            if (!(st.cache() instanceof CudaKvCache cc) || cc.owner != owner) {
                throw new IllegalArgumentException("stream " + i + ": the cache was not made by this engine");
            }
            if (cc.isClosed()) throw new IllegalStateException("stream " + i + ": the cache was closed");
            if (seen.put(cc, Boolean.TRUE) != null) throw new IllegalArgumentException("stream " + i + ": cache used twice in one step");
            if (cc.length() + st.tokenCount() > cc.capacity()) {
                throw new Cm3LeonException("stream " + i + ": " + cc.length() + " cached + " + st.tokenCount()
                        + " new tokens exceed the cache capacity of " + cc.capacity());
            }
            for (int t : st.tokens()) {
                if (t < 0 || t >= c.vocabSize()) {
                    throw new Cm3LeonException("stream " + i + ": token id " + t + " is outside the vocabulary of " + c.vocabSize());
                }
            }
            caches[i] = cc;
            rowStart[i + 1] = rowStart[i] + st.tokenCount();
            single &= st.tokenCount() == 1;
            int count = logitCount(st);
            logitStart[i] = count == 0 ? -1 : w;
            w += count;
        }
        n = rowStart[streams];
        wanted = w;
        decodeOnly = single;
        draws = drawList.size();
        for (int d = 0; d < draws; d++) {
            for (int s : drawList.get(d).mix().streams()) {
                if (s < 0 || s >= streams) throw new IllegalArgumentException("draw " + d + ": stream " + s + " is not in the step");
                if (logitStart[s] < 0) throw new IllegalArgumentException("draw " + d + ": stream " + s + " asks for no logits");
            }
        }
        tileRows = prefillTileRows;
        int t = 0;
        if (!decodeOnly) for (int i = 0; i < streams; i++) t += (steps.get(i).tokenCount() + tileRows - 1) / tileRows;
        tiles = t;

        long at = 0;
        tokensAt = at;
        at = align(at + 4L * n);
        rowPosAt = at;
        at = align(at + 4L * n);
        rowStreamAt = at;
        at = align(at + 4L * n);
        streamKvAt = at;
        at = align(at + 8L * streams);
        streamCapAt = at;
        at = align(at + 4L * streams);
        logitRowsAt = at;
        at = align(at + 4L * wanted);
        tilesAt = at;
        at = align(at + 16L * tiles);
        drawsAt = at;
        at = align(at + (long) DRAW_BYTES * draws);
        bytes = Math.max(at, 16);
    }

    static int logitCount(StreamStep st) {
        return switch (st.logits()) {
            case NONE -> 0;
            case LAST -> 1;
            case ALL -> st.tokenCount();
        };
    }

    private static long align(long v) {
        return (v + 15) & ~15L;
    }

    /** The logits row a draw reads for stream {@code s}: its last wanted row. */
    int logitRowOf(int s) {
        return logitStart[s] + logitCount(steps.get(s)) - 1;
    }

    /** Fills the descriptor; {@code m} has at least {@link #bytes} bytes. */
    void write(MemorySegment m) {
        int tile = 0;
        for (int s = 0; s < streams; s++) {
            StreamStep st = steps.get(s);
            int[] tokens = st.tokens();
            int base = caches[s].length();
            for (int j = 0; j < tokens.length; j++) {
                int r = rowStart[s] + j;
                m.set(JAVA_INT, tokensAt + 4L * r, tokens[j]);
                m.set(JAVA_INT, rowPosAt + 4L * r, base + j);
                m.set(JAVA_INT, rowStreamAt + 4L * r, s);
            }
            m.set(JAVA_LONG, streamKvAt + 8L * s, caches[s].pointer());
            m.set(JAVA_INT, streamCapAt + 4L * s, caches[s].capacity());
            int count = logitCount(st);
            for (int j = 0; j < count; j++) {
                m.set(JAVA_INT, logitRowsAt + 4L * (logitStart[s] + j), rowStart[s + 1] - count + j);
            }
            if (!decodeOnly) {
                for (int j = 0; j < tokens.length; j += tileRows) {
                    long o = tilesAt + 16L * tile++;
                    m.set(JAVA_INT, o, rowStart[s] + j);                          // first row
                    m.set(JAVA_INT, o + 4, Math.min(tileRows, tokens.length - j)); // rows
                    m.set(JAVA_INT, o + 8, base + j);                             // first position
                    m.set(JAVA_INT, o + 12, s);                                   // stream
                }
            }
        }
        for (int d = 0; d < draws; d++) writeDraw(m, drawsAt + (long) DRAW_BYTES * d, drawList.get(d), this::logitRowOf);
    }

    /** One DrawParams (common.cuh) at {@code o}; {@code rowOf} maps a stream to the logits row the draw reads. */
    static void writeDraw(MemorySegment m, long o, TokenDraw draw, IntUnaryOperator rowOf) {
        int kind, r0, r1 = 0, r2 = 0, k = 0;
        float s0 = 0f, s1 = 0f;
        switch (draw.mix()) {
            case TokenDraw.Mix.Single x -> {
                kind = 0;
                r0 = rowOf.applyAsInt(x.stream());
            }
            case TokenDraw.Mix.Guidance2 x -> {
                kind = 1;
                r0 = rowOf.applyAsInt(x.conditional());
                r1 = rowOf.applyAsInt(x.unconditional());
                s0 = x.scale();
            }
            case TokenDraw.Mix.Guidance3 x -> {
                kind = 2;
                r0 = rowOf.applyAsInt(x.full());
                r1 = rowOf.applyAsInt(x.imageOnly());
                r2 = rowOf.applyAsInt(x.unconditional());
                s0 = x.imageScale();
                s1 = x.textScale();
            }
            case TokenDraw.Mix.Contrastive x -> {
                kind = 3;
                r0 = rowOf.applyAsInt(x.conditional());
                r1 = rowOf.applyAsInt(x.amateur());
                s0 = x.alpha();
                k = x.k();
            }
        }
        TokenDraw.Sampling p = draw.sampling();
        m.set(JAVA_INT, o, kind);
        m.set(JAVA_INT, o + 4, r0);
        m.set(JAVA_INT, o + 8, r1);
        m.set(JAVA_INT, o + 12, r2);
        m.set(JAVA_FLOAT, o + 16, s0);
        m.set(JAVA_FLOAT, o + 20, s1);
        m.set(JAVA_INT, o + 24, k);
        m.set(JAVA_INT, o + 28, draw.modality().ordinal());  // ANY 0, TEXT 1, IMAGE 2 as in common.cuh
        m.set(JAVA_FLOAT, o + 32, p.temperature());
        m.set(JAVA_INT, o + 36, p.topK());
        m.set(JAVA_FLOAT, o + 40, p.topP());
        m.set(JAVA_FLOAT, o + 44, p.minP());
        m.set(JAVA_LONG, o + 48, p.seed());   // seedLo, seedHi (little-endian)
        m.set(JAVA_LONG, o + 56, p.step());   // counterLo, counterHi
    }
}
