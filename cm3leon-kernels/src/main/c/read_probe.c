// The native streaming-read probe: the sum of the f32 values in [p, p + bytes) with 64-byte (or 32-byte) vector
// loads, the loop a memory-bound kernel would run at best; bytes past the last whole 256 are not read. Java times it on the engine's threads, each on its own share of a buffer
// far larger than the last-level cache, so decode's bandwidth can be set against what native code reads.
#include "cpu_kernels.h"

#include <immintrin.h>

CM3_AVX512 static float sum_avx512(const uint8_t *p, int64_t bytes) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const int64_t end = bytes - bytes % 256;
    for (int64_t i = 0; i < end; i += 256) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps((const float *) (p + i)));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps((const float *) (p + i + 64)));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps((const float *) (p + i + 128)));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps((const float *) (p + i + 192)));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

CM3_AVX2 static float sum_avx2(const uint8_t *p, int64_t bytes) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const int64_t end = bytes - bytes % 256;
    for (int64_t i = 0; i < end; i += 128) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps((const float *) (p + i)));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps((const float *) (p + i + 32)));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps((const float *) (p + i + 64)));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps((const float *) (p + i + 96)));
    }
    return cm3_sum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
}

CM3_EXPORT CM3_AVX512 float cm3_read_sum_avx512(const uint8_t *p, int64_t bytes) {
    return sum_avx512(p, bytes);
}

CM3_EXPORT CM3_AVX2 float cm3_read_sum_avx2(const uint8_t *p, int64_t bytes) {
    return sum_avx2(p, bytes);
}
