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

enum { CM3_LEVEL_NONE = 0, CM3_LEVEL_AVX2 = 1, CM3_LEVEL_AVX512 = 2 };

/** The widest instruction set every kernel here may use on this CPU (cached after the first call). */
int32_t cm3_cpu_level(void);

#endif
