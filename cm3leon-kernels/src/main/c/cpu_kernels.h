// CPU kernels for the decode products, called from Java through FFM (dev.cm3leon.engine.cpu.NativeKernels).
//
// Every product has the same contract: for the rows r in [r0, r1) of a weight matrix W [rows, cols] and n input
// vectors x [n, cols] (f32, natural order), out[t * rows + r] = sum_k W[r, k] * x[t * cols + k], accumulated in f32.
// The caller (Java) has checked every size against its segments and arrays; nothing here reads past them.
//
// Each stream's sum is computed in the same order whatever n is: a request decoded beside others gets the bits it
// gets alone. Each op has an AVX-512 and an AVX2 body, exported as cm3_<op>_avx512 and cm3_<op>_avx2; the caller
// binds the one cm3_cpu_level allows.
#ifndef CM3LEON_CPU_KERNELS_H
#define CM3LEON_CPU_KERNELS_H

#include <immintrin.h>
#include <stdint.h>

#define CM3_EXPORT __attribute__((visibility("default")))
#define CM3_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c")))
#define CM3_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CM3_INLINE static inline __attribute__((always_inline))

/** Streams one pass over a weight row serves; more are taken four at a time while the row is still in cache. */
#define CM3_MAX_STREAMS 4

/** Unrolls a loop over the streams (m is a constant where it is inlined): the accumulators must stay in registers. */
#define CM3_EACH_STREAM _Pragma("GCC unroll 4")

/** The sum of eight f32 lanes. */
CM3_AVX2 CM3_INLINE float cm3_sum8(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/** Calls row_fn(row, cols, x_t, m, out_t, rows) for the streams in groups of up to four, m a constant in each call. */
#define CM3_STREAM_GROUPS(row_fn, row, cols, x, n, out, rows, r)                                                 \
    for (int32_t t_ = 0; t_ < (n); t_ += CM3_MAX_STREAMS) {                                                      \
        const float *xt_ = (x) + (int64_t) t_ * (cols);                                                          \
        float *o_ = (out) + (int64_t) t_ * (rows) + (r);                                                         \
        switch ((n) - t_) {                                                                                      \
            case 1: row_fn(row, cols, xt_, 1, o_, rows); break;                                                  \
            case 2: row_fn(row, cols, xt_, 2, o_, rows); break;                                                  \
            case 3: row_fn(row, cols, xt_, 3, o_, rows); break;                                                  \
            default: row_fn(row, cols, xt_, 4, o_, rows); break;                                                 \
        }                                                                                                        \
    }

/**
 * The exported product over rows [r0, r1) (the contract at the top of this file), for weights of element type
 * `type`, `stride` elements per stored row. With several streams and use_pairs, rows go two at a time through
 * pair_fn, which gives each row the bits single_fn gives it alone; the rest go one at a time.
 */
#define CM3_DOTS(op, isa, attr, type, stride, single_fn, pair_fn, use_pairs)                                     \
    CM3_EXPORT attr void cm3_dots_##op##_##isa(const type *w, int64_t cols, int32_t rows, int32_t r0, int32_t r1,   \
                                               const float *x, int32_t n, float *out) {                          \
        const int64_t stride_ = (stride);                                                                        \
        int32_t r = r0;                                                                                          \
        if ((use_pairs) && n > 1) {                                                                              \
            for (; r + 2 <= r1; r += 2) CM3_STREAM_GROUPS(pair_fn, w + (int64_t) r * stride_, cols, x, n, out, rows, r); \
        }                                                                                                        \
        for (; r < r1; r++) CM3_STREAM_GROUPS(single_fn, w + (int64_t) r * stride_, cols, x, n, out, rows, r);  \
    }

/** Adds d · (q0 · x[k, k+16) + q1 · x[k+16, k+32)) to chain c of each stream's accumulators: one 32-value block. */
CM3_AVX512 CM3_INLINE void cm3_add_block_avx512(__m512 d, __m512 q0, __m512 q1, const float *x, int64_t cols,
                                                int64_t k, int m, __m512 acc[][2], int c) {
    CM3_EACH_STREAM
    for (int i = 0; i < m; i++) {
        __m512 s = _mm512_mul_ps(q0, _mm512_loadu_ps(x + i * cols + k));
        s = _mm512_fmadd_ps(q1, _mm512_loadu_ps(x + i * cols + k + 16), s);
        acc[i][c] = _mm512_fmadd_ps(d, s, acc[i][c]);
    }
}

/** The same with 8-lane vectors: q0..q3 hold values 0-7, 8-15, 16-23, 24-31 of the block. */
CM3_AVX2 CM3_INLINE void cm3_add_block_avx2(__m256 d, __m256 q0, __m256 q1, __m256 q2, __m256 q3, const float *x,
                                            int64_t cols, int64_t k, int m, __m256 acc[][2], int c) {
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

enum { CM3_LEVEL_NONE = 0, CM3_LEVEL_AVX2 = 1, CM3_LEVEL_AVX512 = 2 };

/** The widest instruction set every kernel here may use on this CPU (cached after the first call). */
int32_t cm3_cpu_level(void);

#endif
