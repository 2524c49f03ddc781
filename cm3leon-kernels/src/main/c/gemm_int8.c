// The prompt's products for the block-quantized types (Q8_0, Q4_0) with int8 inputs, on CPUs with AVX-512 VNNI:
// out [n, rows] = x [n, cols] · Wᵀ where each 32-value block of x is quantized to int8 with its own scale, as the
// weights are. One vpdpbusd does 64 byte products where an f32 FMA does 16, so a prompt is no longer bound by f32
// FMA throughput (llama.cpp multiplies quantized weights the same way).
//
// Inputs (the caller, Java's Int8Prefill, quantizes them): xq [tn, cols] int8, xd [tn, blocks] f32 block scales,
// xs [tn, blocks] the int32 sum of each block's int8 values, for tokens t0 .. t0+tn of out (tn ≤ 512). Weights are taken
// unsigned: a Q4_0 nibble u = q + 8 as stored, a Q8_0 byte u = q + 128, so Σ u·x = Σ q·x + offset·Σ x and each block's
// integer sum starts at −offset·xs. Per block, in order b = 0, 1, …: out += (float) Σ q·x · (dw · dx), one fused
// multiply-add; Int8Prefill.reference computes the same bits in Java.
//
// The register tile is 32 weight rows (two vectors of 16 int32 lanes) × 4 tokens; per 4 columns, two weight vectors
// (16 rows × 4 bytes each) and one broadcast of 4 input bytes per token feed 8 vpdpbusd. A tile's weights are
// repacked once per K chunk into that interleaved layout and reused for every token.
#include "cpu_kernels.h"

#include <immintrin.h>
#include <string.h>

#define CM3_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,fma,f16c")))

/** Rows per tile (two groups of 16), tokens per register tile, blocks per K chunk. */
#define TR 32
#define TT 4
#define KB 64

#define f16_scale(p) _cvtsh_ss((uint16_t) ((p)[0] | (p)[1] << 8))

/** Block b of one row (bytes `p`, unsigned values u[0..32)) into the panel: group g, lane rr, 4 bytes per quad. */
CM3_VNNI CM3_INLINE void put_block(uint8_t *panel, const uint8_t u[32], int rr) {
    for (int j = 0; j < 8; j++) memcpy(panel + j * 64 + rr * 4, u + 4 * j, 4);
}

CM3_VNNI CM3_INLINE void unpack_q8_0(const uint8_t *p, uint8_t u[32]) {
    const __m128i flip = _mm_set1_epi8((char) 0x80);
    _mm_storeu_si128((__m128i *) u, _mm_xor_si128(_mm_loadu_si128((const __m128i *) (p + 2)), flip));
    _mm_storeu_si128((__m128i *) (u + 16), _mm_xor_si128(_mm_loadu_si128((const __m128i *) (p + 18)), flip));
}

CM3_VNNI CM3_INLINE void unpack_q4_0(const uint8_t *p, uint8_t u[32]) {
    const __m128i low = _mm_set1_epi8(0xF);
    __m128i b = _mm_loadu_si128((const __m128i *) (p + 2));
    _mm_storeu_si128((__m128i *) u, _mm_and_si128(b, low));
    _mm_storeu_si128((__m128i *) (u + 16), _mm_and_si128(_mm_srli_epi16(b, 4), low));
}

/** T tokens (a constant where inlined) against the tile's nb packed blocks; fa [T][2] accumulates. */
CM3_VNNI CM3_INLINE void tokens_tile(const uint8_t *panel, const float *scales, int nb, const int8_t *const *xq,
                                     const float *const *xd, const int32_t *const *xs, int32_t offset, int T,
                                     __m512 fa[][2]) {
    for (int b = 0; b < nb; b++) {
        const uint8_t *wb = panel + (int64_t) b * 2 * 512;
        __m512i ia[TT][2];
        _Pragma("GCC unroll 4")
        for (int t = 0; t < T; t++) ia[t][0] = ia[t][1] = _mm512_set1_epi32(-offset * xs[t][b]);
        _Pragma("GCC unroll 8")
        for (int j = 0; j < 8; j++) {
            __m512i w0 = _mm512_loadu_si512(wb + j * 64), w1 = _mm512_loadu_si512(wb + 512 + j * 64);
            _Pragma("GCC unroll 4")
            for (int t = 0; t < T; t++) {
                int32_t quad;
                memcpy(&quad, xq[t] + b * 32 + 4 * j, 4);
                __m512i xb = _mm512_set1_epi32(quad);
                ia[t][0] = _mm512_dpbusd_epi32(ia[t][0], w0, xb);
                ia[t][1] = _mm512_dpbusd_epi32(ia[t][1], w1, xb);
            }
        }
        __m512 d0 = _mm512_loadu_ps(scales + b * TR), d1 = _mm512_loadu_ps(scales + b * TR + 16);
        _Pragma("GCC unroll 4")
        for (int t = 0; t < T; t++) {
            __m512 dx = _mm512_set1_ps(xd[t][b]);
            fa[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[t][0]), _mm512_mul_ps(d0, dx), fa[t][0]);
            fa[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ia[t][1]), _mm512_mul_ps(d1, dx), fa[t][1]);
        }
    }
}

/** Loads (or zeroes) T tokens' accumulators from acc [tn][TR], runs the tile, stores them back. */
CM3_VNNI CM3_INLINE void run_tokens(const uint8_t *panel, const float *scales, int nb, const int8_t *xq,
                                    const float *xd, const int32_t *xs, int64_t cols, int64_t blocks, int64_t b0,
                                    int32_t offset, int t, int T, float *acc, int first) {
    const int8_t *q[TT];
    const float *d[TT];
    const int32_t *s[TT];
    __m512 fa[TT][2];
    for (int i = 0; i < T; i++) {
        q[i] = xq + (int64_t) (t + i) * cols + b0 * 32;
        d[i] = xd + (int64_t) (t + i) * blocks + b0;
        s[i] = xs + (int64_t) (t + i) * blocks + b0;
        fa[i][0] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + (t + i) * TR);
        fa[i][1] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + (t + i) * TR + 16);
    }
    tokens_tile(panel, scales, nb, q, d, s, offset, T, fa);
    for (int i = 0; i < T; i++) {
        _mm512_storeu_ps(acc + (t + i) * TR, fa[i][0]);
        _mm512_storeu_ps(acc + (t + i) * TR + 16, fa[i][1]);
    }
}

#define GEMM_INT8(type, block_bytes, offset)                                                                     \
    CM3_EXPORT CM3_VNNI void cm3_gemm_int8_##type##_vnni(const uint8_t *w, int64_t cols, int32_t rows, int32_t r0, \
                                                         int32_t r1, const int8_t *xq, const float *xd,           \
                                                         const int32_t *xs, int32_t t0, int32_t tn, float *out) { \
        const int64_t blocks = cols / 32, row_bytes = blocks * (block_bytes);                                    \
        static __thread uint8_t panel[KB * 2 * 512];                                                             \
        static __thread float scales[KB * TR];                                                                   \
        static __thread float acc[512 * TR];                                                                     \
        uint8_t u[32];                                                                                           \
        for (int32_t r = r0; r < r1; r += TR) {                                                                  \
            const int mr = r1 - r < TR ? r1 - r : TR;                                                            \
            for (int64_t b0 = 0; b0 < blocks; b0 += KB) {                                                        \
                const int nb = blocks - b0 < KB ? (int) (blocks - b0) : KB;                                      \
                if (mr < TR) {                                                                                   \
                    memset(panel, 0, sizeof panel);                                                              \
                    memset(scales, 0, sizeof scales);                                                            \
                }                                                                                                \
                for (int i = 0; i < mr; i++) {                                                                   \
                    const uint8_t *p = w + (int64_t) (r + i) * row_bytes + b0 * (block_bytes);                   \
                    for (int b = 0; b < nb; b++, p += (block_bytes)) {                                           \
                        unpack_##type(p, u);                                                                     \
                        put_block(panel + (int64_t) b * 1024 + (i / 16) * 512, u, i % 16);                       \
                        scales[b * TR + i] = f16_scale(p);                                                       \
                    }                                                                                            \
                }                                                                                                \
                int t = 0;                                                                                       \
                for (; t + TT <= tn; t += TT)                                                                    \
                    run_tokens(panel, scales, nb, xq, xd, xs, cols, blocks, b0, offset, t, TT, acc, b0 == 0);   \
                switch (tn - t) {                                                                                \
                    case 1: run_tokens(panel, scales, nb, xq, xd, xs, cols, blocks, b0, offset, t, 1, acc, b0 == 0); break; \
                    case 2: run_tokens(panel, scales, nb, xq, xd, xs, cols, blocks, b0, offset, t, 2, acc, b0 == 0); break; \
                    case 3: run_tokens(panel, scales, nb, xq, xd, xs, cols, blocks, b0, offset, t, 3, acc, b0 == 0); break; \
                    default: break;                                                                              \
                }                                                                                                \
            }                                                                                                    \
            for (int t = 0; t < tn; t++) {                                                                       \
                for (int i = 0; i < mr; i++) out[(int64_t) (t0 + t) * rows + r + i] = acc[t * TR + i];           \
            }                                                                                                    \
        }                                                                                                        \
    }

GEMM_INT8(q8_0, 34, 128)
GEMM_INT8(q4_0, 18, 8)

/** Whether this CPU runs the bodies above (AVX-512 VNNI beside the AVX-512 level). */
CM3_EXPORT int32_t cm3_cpu_has_vnni(void) {
    __builtin_cpu_init();
    return cm3_cpu_level() >= CM3_LEVEL_AVX512 && __builtin_cpu_supports("avx512vnni");
}
