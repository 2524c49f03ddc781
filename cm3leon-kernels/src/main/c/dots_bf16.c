// bf16 weights: an f32 whose low 16 bits are zero is a bf16, so widening is a zero-extension and a 16-bit shift.
#include "cpu_kernels.h"

#include <immintrin.h>
#include <string.h>

CM3_INLINE float bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t) b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/** m streams over one row; per stream two accumulator chains of 16 lanes, then the scalar tail in column order. */
CM3_AVX512 CM3_INLINE void row_avx512(const uint16_t *w, int64_t cols, const float *x, int m, float *out, int64_t rows) {
    __m512 acc[CM3_MAX_STREAMS][2];
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= cols; k += 32) {
        __m512 w0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (w + k))), 16));
        __m512 w1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (w + k + 16))), 16));
        CM3_EACH_STREAM
        for (int i = 0; i < m; i++) {
            acc[i][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + i * cols + k), acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + i * cols + k + 16), acc[i][1]);
        }
    }
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) {
        float s = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][0], acc[i][1]));
        for (int64_t j = k; j < cols; j++) s += bf16_to_f32(w[j]) * x[i * cols + j];
        out[i * rows] = s;
    }
}

/** The same with 8-lane vectors: two chains of 8 lanes, 16 columns a step. */
CM3_AVX2 CM3_INLINE void row_avx2(const uint16_t *w, int64_t cols, const float *x, int m, float *out, int64_t rows) {
    __m256 acc[CM3_MAX_STREAMS][2];
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= cols; k += 16) {
        __m256 w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (w + k))), 16));
        __m256 w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (w + k + 8))), 16));
        CM3_EACH_STREAM
        for (int i = 0; i < m; i++) {
            acc[i][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i * cols + k), acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i * cols + k + 8), acc[i][1]);
        }
    }
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) {
        __m256 v = _mm256_add_ps(acc[i][0], acc[i][1]);
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        float s = _mm_cvtss_f32(h);
        for (int64_t j = k; j < cols; j++) s += bf16_to_f32(w[j]) * x[i * cols + j];
        out[i * rows] = s;
    }
}

// One specialised loop per stream count keeps the accumulators in registers.
#define ROWS(body, isa)                                                                                          \
    isa static void rows_##body(const uint16_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,             \
                                const float *x, int32_t n, float *out) {                                          \
        for (int32_t r = r0; r < r1; r++) {                                                                      \
            const uint16_t *row = w + (int64_t) r * cols;                                                        \
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
CM3_EXPORT CM3_AVX512 void cm3_dots_bf16_avx512(const uint16_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,
                                            const float *x, int32_t n, float *out) {
    rows_avx512(w, cols, rows, r0, r1, x, n, out);
}

CM3_EXPORT CM3_AVX2 void cm3_dots_bf16_avx2(const uint16_t *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,
                                        const float *x, int32_t n, float *out) {
    rows_avx2(w, cols, rows, r0, r1, x, n, out);
}
