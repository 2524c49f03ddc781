// GGUF Q4_0 weights: blocks of 18 bytes, an f16 scale d then 16 bytes whose low nibbles are values 0-15 and high
// nibbles values 16-31; value = d * (nibble - 8). Summed like Q8_0: per block in f32 lanes, scaled once, blocks
// alternating between two accumulator chains.
#include "cpu_kernels.h"

#include <immintrin.h>

#define BLOCK 32
#define BLOCK_BYTES 18

/** One block into chain c of every stream's accumulators. */
CM3_AVX512 CM3_INLINE void block_avx512(const uint8_t *p, const float *x, int64_t cols, int64_t k, int m,
                                        __m512 acc[][2], int c) {
    const __m512i low = _mm512_set1_epi32(0xF), eight = _mm512_set1_epi32(8);
    __m512 d = _mm512_set1_ps(_cvtsh_ss((uint16_t) (p[0] | p[1] << 8)));
    __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (p + 2)));
    __m512 q0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(bytes, low), eight));
    __m512 q1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(bytes, 4), eight));
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
    const __m256i low = _mm256_set1_epi32(0xF), eight = _mm256_set1_epi32(8);
    __m256 d = _mm256_set1_ps(_cvtsh_ss((uint16_t) (p[0] | p[1] << 8)));
    __m128i q = _mm_loadu_si128((const __m128i *) (p + 2));
    __m256i b0 = _mm256_cvtepu8_epi32(q), b1 = _mm256_cvtepu8_epi32(_mm_srli_si128(q, 8));
    __m256 q0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(b0, low), eight));   // values 0-7
    __m256 q1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(b1, low), eight));   // 8-15
    __m256 q2 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b0, 4), eight));    // 16-23
    __m256 q3 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b1, 4), eight));    // 24-31
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
CM3_EXPORT CM3_AVX512 void cm3_dots_q4_0_avx512(const uint8_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,
                                            const float *x, int32_t n, float *out) {
    rows_avx512(w, cols, rows, r0, r1, x, n, out);
}

CM3_EXPORT CM3_AVX2 void cm3_dots_q4_0_avx2(const uint8_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,
                                        const float *x, int32_t n, float *out) {
    rows_avx2(w, cols, rows, r0, r1, x, n, out);
}
