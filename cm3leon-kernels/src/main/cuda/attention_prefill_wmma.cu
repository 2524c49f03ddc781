// Flash-style causal attention for prefill on tensor cores (bf16 in, f32 accumulate): the fast path of bf16 models
// with head dimension 64 or 128.
//
// Tiles as in attention_prefill.cu (int4 {firstRow, rowCount, firstPos, stream}), but of 64 rows: grid (tiles,
// heads), 4 warps, each owning 16 query rows. Per key tile of 64: S = Q·Kᵀ with wmma into shared memory, the online
// softmax on S by the warp (two lanes per row), P = exp2(S − m) rounded to bf16, O ← O·corr + P·V with wmma. O lives
// in shared memory in f32 because rescaling it by a per-row factor needs to know which row each element is, which
// wmma's fragment layout does not tell.
//
// Dynamic shared memory: TcLayout<D>::BYTES (113 152 for D = 128, 72 192 for D = 64); the host mirrors the sum.
#include "common.cuh"
#ifndef CM3LEON_EMULATE
#include <mma.h>
#endif

using namespace nvcuda;

#define TC_WARPS 4
#define TC_BQ 64
#define TC_BK 64
#define PAD_H 8  // bf16 row padding: keeps every wmma pointer 32-byte aligned and shifts rows across banks
#define PAD_F 4  // f32 row padding

// Byte offsets into dynamic shared memory; every region and row block starts at a multiple of 32 bytes.
template <int D>
struct TcLayout {
    static const int LDQ = D + PAD_H;     // Q, K, V rows (bf16)
    static const int LDS = TC_BK + PAD_F; // S rows (f32)
    static const int LDP = TC_BK + PAD_H; // P rows (bf16)
    static const int LDO = D + PAD_F;     // O rows (f32)
    static const int Q = 0;
    static const int K = Q + TC_BQ * LDQ * 2;
    static const int V = K + TC_BK * LDQ * 2;
    static const int S = V + TC_BK * LDQ * 2;
    static const int P = S + TC_WARPS * 16 * LDS * 4;
    static const int O = P + TC_WARPS * 16 * LDP * 2;
    static const int ROWS = O + TC_WARPS * 16 * LDO * 4;  // per row: correction factor, then final sum
    static const int BYTES = ROWS + TC_BQ * 2 * 4;
};

template <int D>
__device__ void attention_prefill_tc(const float* qkv, const int4* tiles, const u64* streamKv, const int* streamCap,
                                     int layer, int heads, int kvHeads, bf16* att) {
    typedef TcLayout<D> L;
    CM3_DYNAMIC_SHARED(smem);
    bf16* Qs = (bf16*) (smem + L::Q);
    bf16* Ks = (bf16*) (smem + L::K);
    bf16* Vs = (bf16*) (smem + L::V);

    int4 tile = tiles[blockIdx.x];
    int firstRow = tile.x, rowCount = tile.y, firstPos = tile.z, stream = tile.w;
    int h = blockIdx.y, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int qDim = heads * D, kvDim = kvHeads * D, stride = qDim + 2 * kvDim;
    int kvHead = h / (heads / kvHeads);
    float qScale = (float) (1.0 / sqrt((double) D)) * CM3_LOG2E;

    float* Sw = (float*) (smem + L::S) + warp * 16 * L::LDS;
    bf16* Pw = (bf16*) (smem + L::P) + warp * 16 * L::LDP;
    float* Ow = (float*) (smem + L::O) + warp * 16 * L::LDO;
    float* corrW = (float*) (smem + L::ROWS) + warp * 16;
    float* sumW = (float*) (smem + L::ROWS) + TC_BQ + warp * 16;

    for (int e = threadIdx.x; e < TC_BQ * D; e += blockDim.x) {
        int rr = e / D, d = e % D;
        float v = rr < rowCount ? qkv[(u64) (firstRow + rr) * stride + h * D + d] * qScale : 0.f;
        Qs[rr * L::LDQ + d] = from_float<bf16>(v);
    }
    for (int e = lane; e < 16 * D; e += 32) Ow[(e / D) * L::LDO + e % D] = 0.f;

    // Lanes 2i and 2i+1 own row i of the warp's 16: 32 score columns each, and the row's running max and sum.
    int myRow = lane >> 1, half = lane & 1;
    int rr = warp * 16 + myRow;
    int rowPos = firstPos + rr;
    bool rowValid = rr < rowCount;
    int warpRows = min(16, rowCount - warp * 16);
    int warpLastPos = firstPos + warp * 16 + warpRows - 1;
    float m = -CM3_INF, l = 0.f;

    u64 cap = (u64) streamCap[stream];
    const bf16* Kc = (const bf16*) streamKv[stream] + ((u64) layer * 2) * cap * kvDim + kvHead * D;
    const bf16* Vc = (const bf16*) streamKv[stream] + ((u64) layer * 2 + 1) * cap * kvDim + kvHead * D;
    int keyEnd = firstPos + rowCount;

    for (int kt = 0; kt < keyEnd; kt += TC_BK) {
        __syncthreads();  // the previous tile is consumed; on the first pass, Qs is complete
        // 16-byte copies (D and kvDim are multiples of 8). Keys past the end are zero: 0 · garbage could be NaN.
        for (int e = threadIdx.x; e < TC_BK * (D / 8); e += blockDim.x) {
            int j = e / (D / 8), c = (e % (D / 8)) * 8;
            uint4 kv = make_uint4(0, 0, 0, 0), vv = make_uint4(0, 0, 0, 0);
            if (kt + j < keyEnd) {
                kv = *(const uint4*) (Kc + (u64) (kt + j) * kvDim + c);
                vv = *(const uint4*) (Vc + (u64) (kt + j) * kvDim + c);
            }
            *(uint4*) (Ks + j * L::LDQ + c) = kv;
            *(uint4*) (Vs + j * L::LDQ + c) = vv;
        }
        __syncthreads();
        if (warpRows <= 0 || kt > warpLastPos) continue;  // no key of this tile is visible to the warp's rows

        // S (16 × 64) = Q_w (16 × D) · K_tileᵀ (D × 64); K rows read as a column-major B.
        for (int nb = 0; nb < TC_BK / 16; nb++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
            wmma::fill_fragment(s, 0.f);
            for (int kb = 0; kb < D / 16; kb++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> b;
                wmma::load_matrix_sync(a, Qs + (warp * 16) * L::LDQ + kb * 16, L::LDQ);
                wmma::load_matrix_sync(b, Ks + (nb * 16) * L::LDQ + kb * 16, L::LDQ);
                wmma::mma_sync(s, a, b, s);
            }
            wmma::store_matrix_sync(Sw + nb * 16, s, L::LDS, wmma::mem_row_major);
        }
        __syncwarp();

        float* srow = Sw + myRow * L::LDS + half * 32;
        float tileMax = -CM3_INF;
        for (int c = 0; c < 32; c++) {
            int key = kt + half * 32 + c;
            float v = rowValid && key <= rowPos ? srow[c] : -CM3_INF;
            srow[c] = v;
            tileMax = fmaxf(tileMax, v);
        }
        tileMax = fmaxf(tileMax, __shfl_xor_sync(FULL_MASK, tileMax, 1));
        float mNew = fmaxf(m, tileMax);
        float corr = m == -CM3_INF ? 0.f : exp2f(m - mNew);  // while m is -inf, O and l are still zero
        float sum = 0.f;
        bf16* prow = Pw + myRow * L::LDP + half * 32;
        for (int c = 0; c < 32; c++) {
            float p = mNew == -CM3_INF ? 0.f : exp2f(srow[c] - mNew);
            sum += p;
            prow[c] = from_float<bf16>(p);
        }
        sum += __shfl_xor_sync(FULL_MASK, sum, 1);
        l = l * corr + sum;
        m = mNew;
        if (half == 0) corrW[myRow] = corr;
        __syncwarp();

        for (int e = lane; e < 16 * D; e += 32) Ow[(e / D) * L::LDO + e % D] *= corrW[e / D];
        __syncwarp();

        // O_w (16 × D) += P_w (16 × 64) · V_tile (64 × D).
        for (int db = 0; db < D / 16; db++) {
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> o;
            wmma::load_matrix_sync(o, Ow + db * 16, L::LDO, wmma::mem_row_major);
            for (int kb = 0; kb < TC_BK / 16; kb++) {
                wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> a;
                wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> b;
                wmma::load_matrix_sync(a, Pw + kb * 16, L::LDP);
                wmma::load_matrix_sync(b, Vs + (kb * 16) * L::LDQ + db * 16, L::LDQ);
                wmma::mma_sync(o, a, b, o);
            }
            wmma::store_matrix_sync(Ow + db * 16, o, L::LDO, wmma::mem_row_major);
        }
        __syncwarp();
    }

    if (half == 0) sumW[myRow] = l;
    __syncwarp();
    for (int e = lane; e < 16 * D; e += 32) {
        int i = e / D, d = e % D, row = warp * 16 + i;
        if (row < rowCount) att[(u64) (firstRow + row) * qDim + h * D + d] = from_float<bf16>(Ow[i * L::LDO + d] / sumW[i]);
    }
}

extern "C" __global__ void __launch_bounds__(128) attention_prefill_wmma_d64(
    const float* qkv, const int4* tiles, const u64* streamKv, const int* streamCap, int layer, int heads, int kvHeads,
    bf16* att) {
    attention_prefill_tc<64>(qkv, tiles, streamKv, streamCap, layer, heads, kvHeads, att);
}

extern "C" __global__ void __launch_bounds__(128) attention_prefill_wmma_d128(
    const float* qkv, const int4* tiles, const u64* streamKv, const int* streamCap, int layer, int heads, int kvHeads,
    bf16* att) {
    attention_prefill_tc<128>(qkv, tiles, streamKv, streamCap, layer, heads, kvHeads, att);
}
