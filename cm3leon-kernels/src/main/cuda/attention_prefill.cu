// Flash-style causal attention for prefill, on CUDA cores: any cache type, head dimensions 16, 32, 64 and 128.
//
// A tile is up to 32 consecutive new rows of one stream (tiles: int4 {firstRow, rowCount, firstPos, stream}, made by
// the host). Grid (tiles, heads), 128 threads. The block walks the stream's keys [0, firstPos + rowCount) in tiles of
// 32 staged in shared memory; each warp owns 8 query rows and keeps, per row, a running max, a running sum and the
// output accumulator in registers (online softmax), so scores never leave the chip. Row i sees keys ≤ firstPos + i.
// The cache already holds this step's keys (qk_norm_rope ran first). The tensor-core variant for bf16 is
// attention_prefill_wmma.cu.
//
// Dynamic shared memory: 4 · (32·D + 32·(D + 1) + 32·D) bytes (K rows padded by one float: no bank conflicts when
// each lane reads its own key).
#include "common.cuh"

#define PF_BQ 32
#define PF_BK 32
#define PF_WARPS 4

template <typename CacheT, int D>
__device__ void attention_prefill_rows(const float* qkv, const int4* tiles, const u64* streamKv, const int* streamCap,
                                       int layer, int heads, int kvHeads, CacheT* att) {
    const int RPW = PF_BQ / PF_WARPS;  // query rows per warp
    const int DL = (D + 31) / 32;      // output dimensions per lane
    CM3_DYNAMIC_SHARED(smem);
    float* Qs = (float*) smem;               // [BQ][D], pre-scaled
    float* Ks = Qs + PF_BQ * D;              // [BK][D + 1]
    float* Vs = Ks + PF_BK * (D + 1);        // [BK][D]

    int4 tile = tiles[blockIdx.x];
    int firstRow = tile.x, rowCount = tile.y, firstPos = tile.z, stream = tile.w;
    int h = blockIdx.y, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int qDim = heads * D, kvDim = kvHeads * D, stride = qDim + 2 * kvDim;
    int kvHead = h / (heads / kvHeads);
    float qScale = (float) (1.0 / sqrt((double) D)) * CM3_LOG2E;

    for (int e = threadIdx.x; e < PF_BQ * D; e += blockDim.x) {
        int rr = e / D, d = e % D;
        Qs[e] = rr < rowCount ? qkv[(u64) (firstRow + rr) * stride + h * D + d] * qScale : 0.f;
    }
    u64 cap = (u64) streamCap[stream];
    const CacheT* Kc = (const CacheT*) streamKv[stream] + ((u64) layer * 2) * cap * kvDim + kvHead * D;
    const CacheT* Vc = (const CacheT*) streamKv[stream] + ((u64) layer * 2 + 1) * cap * kvDim + kvHead * D;

    float m[RPW], l[RPW], o[RPW][DL];
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        m[i] = -CM3_INF;
        l[i] = 0.f;
#pragma unroll
        for (int dd = 0; dd < DL; dd++) o[i][dd] = 0.f;
    }

    int keyEnd = firstPos + rowCount;
    for (int kt = 0; kt < keyEnd; kt += PF_BK) {
        __syncthreads();  // the previous tile is consumed; on the first pass, Qs is complete
        for (int e = threadIdx.x; e < PF_BK * D; e += blockDim.x) {
            int j = e / D, d = e % D;
            bool in = kt + j < keyEnd;
            Ks[j * (D + 1) + d] = in ? to_float(Kc[(u64) (kt + j) * kvDim + d]) : 0.f;
            Vs[j * D + d] = in ? to_float(Vc[(u64) (kt + j) * kvDim + d]) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int i = 0; i < RPW; i++) {
            int rr = warp * RPW + i;
            int pos = firstPos + rr;
            if (rr >= rowCount || kt > pos) continue;  // the same for the whole warp: no key of this tile is visible
            int key = kt + lane;
            float s = -CM3_INF;
            if (key <= pos && key < keyEnd) {
                const float* q = Qs + rr * D;
                const float* k = Ks + lane * (D + 1);
                float dot = 0.f;
#pragma unroll 8
                for (int d = 0; d < D; d++) dot = fmaf(q[d], k[d], dot);
                s = dot;
            }
            float mNew = fmaxf(m[i], warp_max(s));  // finite: key kt ≤ pos is visible
            float corr = exp2f(m[i] - mNew);
            float p = exp2f(s - mNew);
            l[i] = l[i] * corr + warp_sum(p);
            m[i] = mNew;
#pragma unroll
            for (int dd = 0; dd < DL; dd++) o[i][dd] *= corr;
            for (int j = 0; j < PF_BK; j++) {
                float pj = __shfl_sync(FULL_MASK, p, j);
                if (pj == 0.f) continue;  // masked keys, identical for the whole warp
#pragma unroll
                for (int dd = 0; dd < DL; dd++) {
                    int d = lane + 32 * dd;
                    if (d < D) o[i][dd] = fmaf(pj, Vs[j * D + d], o[i][dd]);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < RPW; i++) {
        int rr = warp * RPW + i;
        if (rr >= rowCount) continue;
        CacheT* out = att + (u64) (firstRow + rr) * qDim + h * D;
#pragma unroll
        for (int dd = 0; dd < DL; dd++) {
            int d = lane + 32 * dd;
            if (d < D) out[d] = from_float<CacheT>(o[i][dd] / l[i]);
        }
    }
}

#define PREFILL_KERNEL(CT, CNAME, D)                                                                                   \
    extern "C" __global__ void __launch_bounds__(128) attention_prefill_##CNAME##_d##D(                                \
        const float* qkv, const int4* tiles, const u64* streamKv, const int* streamCap, int layer, int heads,          \
        int kvHeads, CT* att) {                                                                                        \
        attention_prefill_rows<CT, D>(qkv, tiles, streamKv, streamCap, layer, heads, kvHeads, att);                    \
    }

PREFILL_KERNEL(float, f32, 16)
PREFILL_KERNEL(float, f32, 32)
PREFILL_KERNEL(float, f32, 64)
PREFILL_KERNEL(float, f32, 128)
PREFILL_KERNEL(bf16, bf16, 16)
PREFILL_KERNEL(bf16, bf16, 32)
PREFILL_KERNEL(bf16, bf16, 64)
PREFILL_KERNEL(bf16, bf16, 128)
