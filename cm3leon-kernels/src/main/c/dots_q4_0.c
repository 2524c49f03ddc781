// GGUF Q4_0 weights: blocks of 18 bytes, an f16 scale d then 16 bytes whose low nibbles are values 0-15 and high
// nibbles values 16-31; value = d * (nibble - 8). Summed like Q8_0 (block_rows.h).
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
    cm3_add_block_avx512(d, q0, q1, x, cols, k, m, acc, c);
}

CM3_AVX2 CM3_INLINE void block_avx2(const uint8_t *p, const float *x, int64_t cols, int64_t k, int m,
                                    __m256 acc[][2], int c) {
    const __m256i low = _mm256_set1_epi32(0xF), eight = _mm256_set1_epi32(8);
    __m256 d = _mm256_set1_ps(_cvtsh_ss((uint16_t) (p[0] | p[1] << 8)));
    __m128i q = _mm_loadu_si128((const __m128i *) (p + 2));
    __m256i b0 = _mm256_cvtepu8_epi32(q), b1 = _mm256_cvtepu8_epi32(_mm_srli_si128(q, 8));
    cm3_add_block_avx2(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(b0, low), eight)),   // values 0-7
                       _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(b1, low), eight)),      // 8-15
                       _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b0, 4), eight)),       // 16-23
                       _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b1, 4), eight)),       // 24-31
                       x, cols, k, m, acc, c);
}

#define OP q4_0
#include "block_rows.h"
