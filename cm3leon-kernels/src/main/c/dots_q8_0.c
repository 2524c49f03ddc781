// GGUF Q8_0 weights: blocks of 34 bytes, an f16 scale d then 32 signed bytes q; value = d * q. Per block the 32
// products q * x are summed in f32 lanes, then scaled by d once; blocks alternate between two accumulator chains so
// the scale's FMA does not wait on the previous block's.
#include "cpu_kernels.h"

#include <immintrin.h>

#define BLOCK 32
#define BLOCK_BYTES 34

/** One block into chain c of every stream's accumulators. */
CM3_AVX512 CM3_INLINE void block_avx512(const uint8_t *p, const float *x, int64_t cols, int64_t k, int m,
                                        __m512 acc[][2], int c) {
    __m512 d = _mm512_set1_ps(_cvtsh_ss((uint16_t) (p[0] | p[1] << 8)));
    __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (p + 2))));
    __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (p + 18))));
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) {
        __m512 s = _mm512_mul_ps(q0, _mm512_loadu_ps(x + i * cols + k));
        s = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x + i * cols + k + 16), s);
        acc[i][c] = _mm512_fmadd_ps(d, s, acc[i][c]);
    }
}

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

CM3_AVX2 CM3_INLINE float sum8(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

CM3_AVX2 CM3_INLINE void block_avx2(const uint8_t *p, const float *x, int64_t cols, int64_t k, int m,
                                    __m256 acc[][2], int c) {
    __m256 d = _mm256_set1_ps(_cvtsh_ss((uint16_t) (p[0] | p[1] << 8)));
    __m128i lo = _mm_loadu_si128((const __m128i *) (p + 2)), hi = _mm_loadu_si128((const __m128i *) (p + 18));
    __m256 q0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    __m256 q1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    __m256 q2 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    __m256 q3 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) {
        const float *xi = x + i * cols + k;
        __m256 s = _mm256_mul_ps(q0, _mm256_loadu_ps(xi));
        s = _mm256_fmadd_ps(q1, _mm256_loadu_ps(xi + 8), s);
        s = _mm256_fmadd_ps(q2, _mm256_loadu_ps(xi + 16), s);
        s = _mm256_fmadd_ps(q3, _mm256_loadu_ps(xi + 24), s);
        acc[i][c] = _mm256_fmadd_ps(d, s, acc[i][c]);
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
    for (int i = 0; i < m; i++) out[i * rows] = sum8(_mm256_add_ps(acc[i][0], acc[i][1]));
}

#define ROWS(body, isa)                                                                                          \
    isa static void rows_##body(const uint8_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,              \
                                const float *x, int32_t n, float *out) {                                          \
        const int64_t row_bytes = cols / BLOCK * BLOCK_BYTES;                                                    \
        for (int32_t r = r0; r < r1; r++) {                                                                      \
            const uint8_t *row = w + (int64_t) r * row_bytes;                                                    \
            for (int32_t t = 0; t < n; t += CM3_MAX_STREAMS) {                                                   \
                const float *xt = x + (int64_t) t * cols;                                                        \
                float *o = out + (int64_t) t * rows + r;                                                         \
                switch (n - t) {                                                                                 \
                    case 1: row_##body(row, cols, xt, 1, o, rows); break;                                        \
                    case 2: row_##body(row, cols, xt, 2, o, rows); break;                                        \
                    case 3: row_##body(row, cols, xt, 3, o, rows); break;                                        \
                    default: row_##body(row, cols, xt, 4, o, rows); break;                                       \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }
ROWS(avx512, CM3_AVX512)
ROWS(avx2, CM3_AVX2)

// The entry points, one per body: Java binds the one cm3_cpu_level allows (and tests bind each that can run).
CM3_EXPORT CM3_AVX512 void cm3_dots_q8_0_avx512(const uint8_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,
                                            const float *x, int32_t n, float *out) {
    rows_avx512(w, cols, rows, r0, r1, x, n, out);
}

CM3_EXPORT CM3_AVX2 void cm3_dots_q8_0_avx2(const uint8_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,
                                        const float *x, int32_t n, float *out) {
    rows_avx2(w, cols, rows, r0, r1, x, n, out);
}
