// The prompt's products: out [n, rows] = x [n, cols] · Wᵀ for many tokens, bound by FMA throughput, not memory.
//
// The caller (Java's BlockedMatmul) packs a block of up to 4·NR tokens' inputs once per matrix, in its layout: for
// the K block starting at k0 (length kc), token t of micro-block j sits at k0·NB + j·kc·NR + (k − k0)·NR + t mod NR,
// zero past the block's last token. Each call then covers weight rows [r0, r1): tile by tile (MR rows), K block by
// K block, the tile's rows are widened to f32 into a panel [MR][kc] once and reused for every token of the block;
// per k, NR tokens' inputs (two vectors) and MR broadcast weights feed 2·MR FMAs into accumulators that stay in
// registers. NR is the Java side's: 32 tokens with AVX-512, 16 with AVX2.
//
// Each output is the f32 sum over k in order k = 0, 1, …, cols − 1 within lanes, so it equals what the Java kernel
// computes to rounding (the fused multiply-adds are the same; only the widening runs here).
#include "cpu_kernels.h"

#include <immintrin.h>
#include <string.h>

#define KC 256

// Widening a run [k0, k0 + kc) of one row to f32. Block types need k0 and kc to be whole 32-value blocks.

/** A block's f16 scale, widened (a macro: it takes the calling body's instruction set). */
#define f16_scale(p) _cvtsh_ss((uint16_t) ((p)[0] | (p)[1] << 8))

CM3_AVX512 CM3_INLINE void widen_bf16_avx512(const void *row, int64_t k0, int64_t kc, float *dst) {
    const uint16_t *w = (const uint16_t *) row + k0;
    int64_t k = 0;
    for (; k + 16 <= kc; k += 16) {
        __m512i v = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *) (w + k))), 16);
        _mm512_storeu_ps(dst + k, _mm512_castsi512_ps(v));
    }
    for (; k < kc; k++) {
        uint32_t u = (uint32_t) w[k] << 16;
        memcpy(dst + k, &u, sizeof u);
    }
}

CM3_AVX512 CM3_INLINE void widen_q8_0_avx512(const void *row, int64_t k0, int64_t kc, float *dst) {
    const uint8_t *p = (const uint8_t *) row + k0 / 32 * 34;
    for (int64_t k = 0; k < kc; k += 32, p += 34) {
        __m512 d = _mm512_set1_ps(f16_scale(p));
        _mm512_storeu_ps(dst + k, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (p + 2))))));
        _mm512_storeu_ps(dst + k + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (p + 18))))));
    }
}

CM3_AVX512 CM3_INLINE void widen_q4_0_avx512(const void *row, int64_t k0, int64_t kc, float *dst) {
    const uint8_t *p = (const uint8_t *) row + k0 / 32 * 18;
    const __m512i low = _mm512_set1_epi32(0xF), eight = _mm512_set1_epi32(8);
    for (int64_t k = 0; k < kc; k += 32, p += 18) {
        __m512 d = _mm512_set1_ps(f16_scale(p));
        __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (p + 2)));
        _mm512_storeu_ps(dst + k, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(bytes, low), eight))));
        _mm512_storeu_ps(dst + k + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(bytes, 4), eight))));
    }
}

CM3_AVX2 CM3_INLINE void widen_bf16_avx2(const void *row, int64_t k0, int64_t kc, float *dst) {
    const uint16_t *w = (const uint16_t *) row + k0;
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256i v = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) (w + k))), 16);
        _mm256_storeu_ps(dst + k, _mm256_castsi256_ps(v));
    }
    for (; k < kc; k++) {
        uint32_t u = (uint32_t) w[k] << 16;
        memcpy(dst + k, &u, sizeof u);
    }
}

CM3_AVX2 CM3_INLINE void widen_q8_0_avx2(const void *row, int64_t k0, int64_t kc, float *dst) {
    const uint8_t *p = (const uint8_t *) row + k0 / 32 * 34;
    for (int64_t k = 0; k < kc; k += 32, p += 34) {
        __m256 d = _mm256_set1_ps(f16_scale(p));
        for (int h = 0; h < 4; h++) {
            __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (p + 2 + 8 * h)));
            _mm256_storeu_ps(dst + k + 8 * h, _mm256_mul_ps(d, _mm256_cvtepi32_ps(q)));
        }
    }
}

CM3_AVX2 CM3_INLINE void widen_q4_0_avx2(const void *row, int64_t k0, int64_t kc, float *dst) {
    const uint8_t *p = (const uint8_t *) row + k0 / 32 * 18;
    const __m256i low = _mm256_set1_epi32(0xF), eight = _mm256_set1_epi32(8);
    for (int64_t k = 0; k < kc; k += 32, p += 18) {
        __m256 d = _mm256_set1_ps(f16_scale(p));
        for (int h = 0; h < 2; h++) {
            __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (p + 2 + 8 * h)));
            _mm256_storeu_ps(dst + k + 8 * h, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(b, low), eight))));
            _mm256_storeu_ps(dst + k + 16 + 8 * h, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(b, 4), eight))));
        }
    }
}

// The register tile: MR rows × NR tokens, acc [micro][MR][NR] kept in memory between K blocks.

#define MR_512 12
#define NR_512 32
#define MR_256 6
#define NR_256 16

CM3_AVX512 CM3_INLINE void kernel_avx512(const float *panel, int64_t kc, const float *packed, float *acc, int accumulate) {
    __m512 c[MR_512][2];
    CM3_EACH_STREAM
    for (int i = 0; i < MR_512; i++) {
        c[i][0] = accumulate ? _mm512_loadu_ps(acc + i * NR_512) : _mm512_setzero_ps();
        c[i][1] = accumulate ? _mm512_loadu_ps(acc + i * NR_512 + 16) : _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(packed + k * NR_512), b1 = _mm512_loadu_ps(packed + k * NR_512 + 16);
        _Pragma("GCC unroll 12")
        for (int i = 0; i < MR_512; i++) {
            __m512 a = _mm512_set1_ps(panel[i * kc + k]);
            c[i][0] = _mm512_fmadd_ps(b0, a, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(b1, a, c[i][1]);
        }
    }
    _Pragma("GCC unroll 12")
    for (int i = 0; i < MR_512; i++) {
        _mm512_storeu_ps(acc + i * NR_512, c[i][0]);
        _mm512_storeu_ps(acc + i * NR_512 + 16, c[i][1]);
    }
}

CM3_AVX2 CM3_INLINE void kernel_avx2(const float *panel, int64_t kc, const float *packed, float *acc, int accumulate) {
    __m256 c[MR_256][2];
    _Pragma("GCC unroll 6")
    for (int i = 0; i < MR_256; i++) {
        c[i][0] = accumulate ? _mm256_loadu_ps(acc + i * NR_256) : _mm256_setzero_ps();
        c[i][1] = accumulate ? _mm256_loadu_ps(acc + i * NR_256 + 8) : _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(packed + k * NR_256), b1 = _mm256_loadu_ps(packed + k * NR_256 + 8);
        _Pragma("GCC unroll 6")
        for (int i = 0; i < MR_256; i++) {
            __m256 a = _mm256_broadcast_ss(panel + i * kc + k);
            c[i][0] = _mm256_fmadd_ps(b0, a, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(b1, a, c[i][1]);
        }
    }
    _Pragma("GCC unroll 6")
    for (int i = 0; i < MR_256; i++) {
        _mm256_storeu_ps(acc + i * NR_256, c[i][0]);
        _mm256_storeu_ps(acc + i * NR_256 + 8, c[i][1]);
    }
}

// Rows [r0, r1) against one packed block of tn tokens starting at token t0; rows of a partial tile are zero in the
// panel and not written out.
#define GEMM(type, isa, attr, MR, NR, row_bytes_of)                                                              \
    CM3_EXPORT attr void cm3_gemm_##type##_##isa(const uint8_t *w, int64_t cols, int32_t rows, int32_t r0,       \
                                                 int32_t r1, const float *packed, int32_t t0, int32_t tn,        \
                                                 float *out) {                                                   \
        const int64_t row_bytes = row_bytes_of;                                                                  \
        const int micro = (tn + NR - 1) / NR;                                                                    \
        float panel[MR * KC];                                                                                    \
        float acc[4 * MR * NR];                                                                                  \
        for (int32_t r = r0; r < r1; r += MR) {                                                                  \
            const int mr = r1 - r < MR ? r1 - r : MR;                                                            \
            for (int64_t k0 = 0; k0 < cols; k0 += KC) {                                                          \
                const int64_t kc = cols - k0 < KC ? cols - k0 : KC;                                              \
                for (int i = 0; i < mr; i++) widen_##type##_##isa(w + (int64_t) (r + i) * row_bytes, k0, kc, panel + i * kc); \
                if (mr < MR) memset(panel + mr * kc, 0, sizeof(float) * (size_t) ((MR - mr) * kc));             \
                for (int j = 0; j < micro; j++) {                                                                \
                    kernel_##isa(panel, kc, packed + k0 * 4 * NR + (int64_t) j * kc * NR, acc + j * MR * NR, k0 > 0); \
                }                                                                                                \
            }                                                                                                    \
            for (int i = 0; i < mr; i++) {                                                                       \
                for (int t = 0; t < tn; t++) out[(int64_t) (t0 + t) * rows + r + i] = acc[(t / NR) * MR * NR + i * NR + t % NR]; \
            }                                                                                                    \
        }                                                                                                        \
    }

GEMM(bf16, avx512, CM3_AVX512, MR_512, NR_512, cols * 2)
GEMM(q8_0, avx512, CM3_AVX512, MR_512, NR_512, cols / 32 * 34)
GEMM(q4_0, avx512, CM3_AVX512, MR_512, NR_512, cols / 32 * 18)
GEMM(bf16, avx2, CM3_AVX2, MR_256, NR_256, cols * 2)
GEMM(q8_0, avx2, CM3_AVX2, MR_256, NR_256, cols / 32 * 34)
GEMM(q4_0, avx2, CM3_AVX2, MR_256, NR_256, cols / 32 * 18)
