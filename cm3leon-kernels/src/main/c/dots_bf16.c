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

/**
 * Two rows in one pass over the inputs, the same sums as two calls of row_avx512 (each row's chains take the same
 * products in the same order): with several streams the inputs (m · cols floats) no longer fit in L1 beside the
 * weights streaming through it, and reading them once for two rows halves what comes from L2.
 */
CM3_AVX512 CM3_INLINE void row_pair_avx512(const uint16_t *w, int64_t cols, const float *x, int m, float *out, int64_t rows) {
    const uint16_t *v = w + cols;
    __m512 acc[CM3_MAX_STREAMS][2][2];
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) acc[i][0][0] = acc[i][0][1] = acc[i][1][0] = acc[i][1][1] = _mm512_setzero_ps();
    int64_t k = 0;
    for (; k + 32 <= cols; k += 32) {
        // The next pair's line at this column: with several streams the loop runs slower per byte than the hardware
        // prefetcher expects of two interleaved rows, and without this reads ~0.6x the bandwidth (measured, Zen 5).
        // Past the matrix's last row the address is only a hint; nothing is read from it.
        _mm_prefetch((const char *) (w + k + 2 * cols), _MM_HINT_T0);
        _mm_prefetch((const char *) (v + k + 2 * cols), _MM_HINT_T0);
        __m512 a0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (w + k))), 16));
        __m512 a1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (w + k + 16))), 16));
        __m512 b0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (v + k))), 16));
        __m512 b1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (v + k + 16))), 16));
        CM3_EACH_STREAM
        for (int i = 0; i < m; i++) {
            __m512 x0 = _mm512_loadu_ps(x + i * cols + k), x1 = _mm512_loadu_ps(x + i * cols + k + 16);
            acc[i][0][0] = _mm512_fmadd_ps(a0, x0, acc[i][0][0]);
            acc[i][0][1] = _mm512_fmadd_ps(a1, x1, acc[i][0][1]);
            acc[i][1][0] = _mm512_fmadd_ps(b0, x0, acc[i][1][0]);
            acc[i][1][1] = _mm512_fmadd_ps(b1, x1, acc[i][1][1]);
        }
    }
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) {
        float s = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][0][0], acc[i][0][1]));
        float t = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][1][0], acc[i][1][1]));
        for (int64_t j = k; j < cols; j++) {
            s += bf16_to_f32(w[j]) * x[i * cols + j];
            t += bf16_to_f32(v[j]) * x[i * cols + j];
        }
        out[i * rows] = s;
        out[i * rows + 1] = t;
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
        float s = cm3_sum8(_mm256_add_ps(acc[i][0], acc[i][1]));
        for (int64_t j = k; j < cols; j++) s += bf16_to_f32(w[j]) * x[i * cols + j];
        out[i * rows] = s;
    }
}

// The entry points, one per body: Java binds the one cm3_cpu_level allows (and tests bind each that can run). With
// AVX-512 and several streams, rows go in pairs (row_pair_avx512).
CM3_DOTS(bf16, avx512, CM3_AVX512, uint16_t, cols, row_avx512, row_pair_avx512, 1)
CM3_DOTS(bf16, avx2, CM3_AVX2, uint16_t, cols, row_avx2, row_avx2, 0)
