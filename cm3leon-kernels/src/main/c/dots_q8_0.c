// GGUF Q8_0 weights: blocks of 34 bytes, an f16 scale d then 32 signed bytes q; value = d * q. Per block the 32
// products q * x are summed in f32 lanes, then scaled by d once (block_rows.h).
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
    cm3_add_block_avx512(d, q0, q1, x, cols, k, m, acc, c);
}

CM3_AVX2 CM3_INLINE void block_avx2(const uint8_t *p, const float *x, int64_t cols, int64_t k, int m,
                                    __m256 acc[][2], int c) {
    __m256 d = _mm256_set1_ps(_cvtsh_ss((uint16_t) (p[0] | p[1] << 8)));
    __m128i lo = _mm_loadu_si128((const __m128i *) (p + 2)), hi = _mm_loadu_si128((const __m128i *) (p + 18));
    cm3_add_block_avx2(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)),
                       _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))),
                       _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)),
                       _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), x, cols, k, m, acc, c);
}

#define OP q8_0
#include "block_rows.h"
