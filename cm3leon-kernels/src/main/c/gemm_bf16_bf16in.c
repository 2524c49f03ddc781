// The prompt's products for bf16 weights with bf16 inputs, on CPUs with AVX-512 BF16, where the user asks for them
// (-Dcm3leon.cpu.prompt=bf16): out [n, rows] = bf16(x) [n, cols] · Wᵀ with vdpbf16ps, which sums two bf16 products
// into each f32 lane, twice the products per instruction of an f32 FMA. The inputs lose all but 8 of their 24
// significant bits (llama.cpp and bf16 PyTorch round them the same way); the products are exact, the sums f32.
// Weight pairs are broadcast straight from the mapped rows: nothing is widened.
//
// The caller (Java's BlockedMatmul.packBf16Pairs) packs a block of up to 4 · 32 tokens: for the K block at k0
// (length kc, even) and micro-block j of 32 tokens, the 32 words of pair p sit at k0·64 + j·kc·16 + p·32, one per
// token, each (bf16 of x[t, k + 1]) << 16 | bf16 of x[t, k]. cols must be even.
#include "cpu_kernels.h"

#include <immintrin.h>
#include <string.h>

#define CM3_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,fma,f16c")))

#define KC 256
#define MR 12
#define NR 32

CM3_BF16 CM3_INLINE void tile_pairs(const uint16_t *w, int64_t cols, const uint32_t *packed, int64_t kc, float *acc,
                                    int accumulate) {
    __m512 c[MR][2];
    _Pragma("GCC unroll 12")
    for (int i = 0; i < MR; i++) {
        c[i][0] = accumulate ? _mm512_loadu_ps(acc + i * NR) : _mm512_setzero_ps();
        c[i][1] = accumulate ? _mm512_loadu_ps(acc + i * NR + 16) : _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < kc / 2; p++) {
        const uint32_t *x = packed + p * NR;
        __m512bh h0 = (__m512bh) _mm512_loadu_si512(x), h1 = (__m512bh) _mm512_loadu_si512(x + 16);
        _Pragma("GCC unroll 12")
        for (int i = 0; i < MR; i++) {
            uint32_t pair;
            memcpy(&pair, w + i * cols + 2 * p, sizeof pair);
            __m512bh b = (__m512bh) _mm512_set1_epi32((int32_t) pair);
            c[i][0] = _mm512_dpbf16_ps(c[i][0], b, h0);
            c[i][1] = _mm512_dpbf16_ps(c[i][1], b, h1);
        }
    }
    _Pragma("GCC unroll 12")
    for (int i = 0; i < MR; i++) {
        _mm512_storeu_ps(acc + i * NR, c[i][0]);
        _mm512_storeu_ps(acc + i * NR + 16, c[i][1]);
    }
}

/** Rows [r0, r1) against one packed block of tn tokens starting at token t0 of out; a partial tile reads zero rows. */
CM3_EXPORT CM3_BF16 void cm3_gemm_bf16_bf16in_avx512bf16(const uint16_t *w, int64_t cols, int32_t rows, int32_t r0,
                                                        int32_t r1, const uint32_t *packed, int32_t t0, int32_t tn,
                                                        float *out) {
    const int micro = (tn + NR - 1) / NR;
    float acc[4 * MR * NR];
    uint16_t edge[MR * KC];
    for (int32_t r = r0; r < r1; r += MR) {
        const int mr = r1 - r < MR ? r1 - r : MR;
        for (int64_t k0 = 0; k0 < cols; k0 += KC) {
            const int64_t kc = cols - k0 < KC ? cols - k0 : KC;
            const uint16_t *rows_at = w + (int64_t) r * cols + k0;
            int64_t stride = cols;
            if (mr < MR) {
                // The last tile's missing rows: a zero panel, never a read past the matrix.
                memset(edge, 0, sizeof edge);
                for (int i = 0; i < mr; i++) memcpy(edge + i * KC, rows_at + i * cols, (size_t) kc * 2);
                rows_at = edge;
                stride = KC;
            }
            // The rows' next K block (or the next tile's first) on its way from memory while this one computes: the
            // tile reads its weights straight from the mapped rows, twelve strided streams the prefetcher follows late.
            const uint16_t *next = k0 + KC < cols ? w + (int64_t) r * cols + k0 + KC : w + (int64_t) (r + MR) * cols;
            if (k0 + KC < cols || r + MR < r1) {
                const int nr = k0 + KC < cols ? mr : (r1 - r - MR < MR ? r1 - r - MR : MR);
                for (int i = 0; i < nr; i++) {
                    for (int b = 0; b < KC * 2; b += 64) _mm_prefetch((const char *) (next + i * cols) + b, _MM_HINT_T0);
                }
            }
            for (int j = 0; j < micro; j++) {
                tile_pairs(rows_at, stride, packed + k0 * 2 * NR + (int64_t) j * kc * NR / 2, kc, acc + j * MR * NR, k0 > 0);
            }
        }
        for (int i = 0; i < mr; i++) {
            for (int t = 0; t < tn; t++) out[(int64_t) (t0 + t) * rows + r + i] = acc[(t / NR) * MR * NR + i * NR + t % NR];
        }
    }
}

/** Whether this CPU runs the body above (AVX-512 BF16 beside the AVX-512 level). */
CM3_EXPORT int32_t cm3_cpu_has_avx512bf16(void) {
    __builtin_cpu_init();
    return cm3_cpu_level() >= CM3_LEVEL_AVX512 && __builtin_cpu_supports("avx512bf16");
}
