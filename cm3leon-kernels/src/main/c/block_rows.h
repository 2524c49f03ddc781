// The row loops shared by the block types (Q8_0, Q4_0): included by each after it defines BLOCK, BLOCK_BYTES and
// block_avx512 / block_avx2, which decode one block and add it into chain c of every stream's accumulators
// (cm3_add_block_*). Blocks alternate between two chains so the scale's FMA does not wait on the previous block's;
// the entry points are cm3_dots_<OP>_avx512 and cm3_dots_<OP>_avx2.
#ifndef BLOCK_BYTES
#error "define BLOCK, BLOCK_BYTES and the block bodies before including block_rows.h"
#endif

CM3_AVX512 CM3_INLINE void row_avx512(const uint8_t *w, int64_t cols, const float *x, int m, float *out, int64_t rows) {
    __m512 acc[CM3_MAX_STREAMS][2];
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const int64_t blocks = cols / BLOCK;
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        block_avx512(w + b * BLOCK_BYTES, x, cols, b * BLOCK, m, acc, 0);
        block_avx512(w + (b + 1) * BLOCK_BYTES, x, cols, (b + 1) * BLOCK, m, acc, 1);
    }
    if (b < blocks) block_avx512(w + b * BLOCK_BYTES, x, cols, b * BLOCK, m, acc, 0);
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) out[i * rows] = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]));
}

/**
 * Two rows in one pass, each summed exactly as row_avx512 sums it: with several streams the inputs are then read
 * from L2 once for two rows, and the next pair is prefetched (see dots_bf16.c: without it three streams read about
 * half the bandwidth of one).
 */
CM3_AVX512 CM3_INLINE void row_pair_avx512(const uint8_t *w, int64_t cols, const float *x, int m, float *out, int64_t rows) {
    const int64_t blocks = cols / BLOCK, row_bytes = blocks * BLOCK_BYTES;
    const uint8_t *v = w + row_bytes;
    __m512 a[CM3_MAX_STREAMS][2], c[CM3_MAX_STREAMS][2];
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) a[i][0] = a[i][1] = c[i][0] = c[i][1] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        _mm_prefetch((const char *) (w + 2 * row_bytes + b * BLOCK_BYTES), _MM_HINT_T0);   // past the matrix: a hint only
        _mm_prefetch((const char *) (v + 2 * row_bytes + b * BLOCK_BYTES), _MM_HINT_T0);
        block_avx512(w + b * BLOCK_BYTES, x, cols, b * BLOCK, m, a, 0);
        block_avx512(v + b * BLOCK_BYTES, x, cols, b * BLOCK, m, c, 0);
        block_avx512(w + (b + 1) * BLOCK_BYTES, x, cols, (b + 1) * BLOCK, m, a, 1);
        block_avx512(v + (b + 1) * BLOCK_BYTES, x, cols, (b + 1) * BLOCK, m, c, 1);
    }
    if (b < blocks) {
        block_avx512(w + b * BLOCK_BYTES, x, cols, b * BLOCK, m, a, 0);
        block_avx512(v + b * BLOCK_BYTES, x, cols, b * BLOCK, m, c, 0);
    }
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) {
        out[i * rows] = _mm512_reduce_add_ps(_mm512_add_ps(a[i][0], a[i][1]));
        out[i * rows + 1] = _mm512_reduce_add_ps(_mm512_add_ps(c[i][0], c[i][1]));
    }
}

CM3_AVX2 CM3_INLINE void row_avx2(const uint8_t *w, int64_t cols, const float *x, int m, float *out, int64_t rows) {
    __m256 acc[CM3_MAX_STREAMS][2];
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    const int64_t blocks = cols / BLOCK;
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
        block_avx2(w + b * BLOCK_BYTES, x, cols, b * BLOCK, m, acc, 0);
        block_avx2(w + (b + 1) * BLOCK_BYTES, x, cols, (b + 1) * BLOCK, m, acc, 1);
    }
    if (b < blocks) block_avx2(w + b * BLOCK_BYTES, x, cols, b * BLOCK, m, acc, 0);
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) out[i * rows] = cm3_sum8(_mm256_add_ps(acc[i][0], acc[i][1]));
}

// The entry points, one per body: Java binds the one cm3_cpu_level allows (and tests bind each that can run).
#define CM3_BLOCK_ENTRIES(op)                                                                                    \
    CM3_DOTS(op, avx512, CM3_AVX512, uint8_t, cols / BLOCK * BLOCK_BYTES, row_avx512, row_pair_avx512, 1)        \
    CM3_DOTS(op, avx2, CM3_AVX2, uint8_t, cols / BLOCK * BLOCK_BYTES, row_avx2, row_avx2, 0)
CM3_BLOCK_ENTRIES(OP)
