// Split-K attention of single query rows against their stream's KV cache: the decode step.
//
// Row r (one query, at position pos) attends to keys [0, pos] of its stream; with one row per stream the keys are
// the whole memory traffic, so the context is split across blocks until the GPU is full, and a second kernel merges
// the splits (flash-decoding). Grid (rows, heads, splits), 128 threads: 4 warps × 4 keys at a time, 8 lanes per key,
// each lane holding D/8 of the head's dimensions. The split size follows the row's context, read on the device, so
// one launch shape (and one captured graph) serves every step.
//
// partial: [rows, heads, splits, D + 2] f32 — (running max in log2 units, sum of exponentials, Σ p·v) per split.
// Scores use exp2 with q pre-scaled by 1/sqrt(D)·log2(e), which is exp() of the reference's scores.
#include "common.cuh"

#define DECODE_WARPS 4
#define LANES_PER_KEY 8

template <typename CacheT, int D>
__device__ void attention_decode_split(const float* qkv, const int* rowPos, const int* rowStream, const u64* streamKv,
                                       const int* streamCap, int layer, int heads, int kvHeads, float* partial) {
    const int S = D / LANES_PER_KEY;  // dimensions per lane
    __shared__ float wMax[DECODE_WARPS], wSum[DECODE_WARPS];
    __shared__ float wAcc[DECODE_WARPS][D];

    int r = blockIdx.x, h = blockIdx.y, split = blockIdx.z, splits = gridDim.z;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int sub = lane % LANES_PER_KEY, slot = lane / LANES_PER_KEY;  // slice of D, which of the warp's 4 keys
    int qDim = heads * D, kvDim = kvHeads * D;
    int kvHead = h / (heads / kvHeads);

    int ctx = rowPos[r] + 1;
    int chunk = (ctx + splits - 1) / splits;
    int begin = split * chunk, end = min(ctx, begin + chunk);

    int s = rowStream[r];
    u64 cap = (u64) streamCap[s];
    const CacheT* K = (const CacheT*) streamKv[s] + ((u64) layer * 2) * cap * kvDim + kvHead * D + sub * S;
    const CacheT* Vc = (const CacheT*) streamKv[s] + ((u64) layer * 2 + 1) * cap * kvDim + kvHead * D + sub * S;

    float q[S];
    const float* qRow = qkv + (u64) r * (qDim + 2 * kvDim) + h * D + sub * S;
    float qScale = (float) (1.0 / sqrt((double) D)) * CM3_LOG2E;
#pragma unroll
    for (int i = 0; i < S; i++) q[i] = qRow[i] * qScale;

    float m = -CM3_INF, l = 0.f, acc[S];
#pragma unroll
    for (int i = 0; i < S; i++) acc[i] = 0.f;

    // The loop bound is the same for all lanes of a warp, so the shuffles below always have the full warp.
    for (int base = begin + warp * 4; base < end; base += DECODE_WARPS * 4) {
        int j = base + slot;
        bool valid = j < end;
        float dot = 0.f;
        if (valid) {
            const CacheT* k = K + (u64) j * kvDim;
#pragma unroll
            for (int i = 0; i < S; i++) dot = fmaf(q[i], to_float(k[i]), dot);
        }
        dot += __shfl_xor_sync(FULL_MASK, dot, 1);
        dot += __shfl_xor_sync(FULL_MASK, dot, 2);
        dot += __shfl_xor_sync(FULL_MASK, dot, 4);
        if (valid) {
            float mNew = fmaxf(m, dot);
            float corr = exp2f(m - mNew);  // 0 while m is still -inf
            float p = exp2f(dot - mNew);
            const CacheT* v = Vc + (u64) j * kvDim;
            l = l * corr + p;
#pragma unroll
            for (int i = 0; i < S; i++) acc[i] = acc[i] * corr + p * to_float(v[i]);
            m = mNew;
        }
    }

    // Merge the warp's four key slots (lanes sub, sub + 8, sub + 16, sub + 24).
    for (int o = LANES_PER_KEY; o < 32; o <<= 1) {
        float mo = __shfl_xor_sync(FULL_MASK, m, o), lo = __shfl_xor_sync(FULL_MASK, l, o);
        float mNew = fmaxf(m, mo);
        float a = mNew == -CM3_INF ? 0.f : exp2f(m - mNew), b = mNew == -CM3_INF ? 0.f : exp2f(mo - mNew);
        l = l * a + lo * b;
#pragma unroll
        for (int i = 0; i < S; i++) acc[i] = acc[i] * a + __shfl_xor_sync(FULL_MASK, acc[i], o) * b;
        m = mNew;
    }
    if (slot == 0) {
#pragma unroll
        for (int i = 0; i < S; i++) wAcc[warp][sub * S + i] = acc[i];
        if (sub == 0) {
            wMax[warp] = m;
            wSum[warp] = l;
        }
    }
    __syncthreads();

    // Merge the warps; thread t < D owns dimension t.
    float M = -CM3_INF;
    for (int w = 0; w < DECODE_WARPS; w++) M = fmaxf(M, wMax[w]);
    float* out = partial + (((u64) r * heads + h) * splits + split) * (D + 2);
    for (int t = threadIdx.x; t < D; t += blockDim.x) {
        float a = 0.f;
        for (int w = 0; w < DECODE_WARPS; w++) a += M == -CM3_INF ? 0.f : wAcc[w][t] * exp2f(wMax[w] - M);
        out[2 + t] = a;
    }
    if (threadIdx.x == 0) {
        float L = 0.f;
        for (int w = 0; w < DECODE_WARPS; w++) L += M == -CM3_INF ? 0.f : wSum[w] * exp2f(wMax[w] - M);
        out[0] = M;
        out[1] = L;
    }
}

// att[r, h·D + t] = Σ_s acc_s[t]·2^(m_s − M) / Σ_s l_s·2^(m_s − M). Grid (rows, heads), D threads (at least 32).
template <typename OutT, int D>
__device__ void attention_decode_merge(const float* partial, int heads, int splits, OutT* att) {
    int r = blockIdx.x, h = blockIdx.y, t = threadIdx.x;
    const float* p = partial + ((u64) r * heads + h) * splits * (D + 2);
    float M = -CM3_INF;
    for (int s = 0; s < splits; s++) M = fmaxf(M, p[s * (D + 2)]);
    if (t >= D) return;
    float L = 0.f, a = 0.f;
    for (int s = 0; s < splits; s++) {
        float ms = p[s * (D + 2)];
        if (ms == -CM3_INF) continue;  // a split past the row's context
        float f = exp2f(ms - M);
        L += p[s * (D + 2) + 1] * f;
        a += p[s * (D + 2) + 2 + t] * f;
    }
    att[(u64) r * heads * D + h * D + t] = from_float<OutT>(a / L);
}

#define DECODE_KERNELS(CT, CNAME, D)                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) attention_decode_##CNAME##_d##D(                               \
        const float* qkv, const int* rowPos, const int* rowStream, const u64* streamKv, const int* streamCap,        \
        int layer, int heads, int kvHeads, float* partial) {                                                         \
        attention_decode_split<CT, D>(qkv, rowPos, rowStream, streamKv, streamCap, layer, heads, kvHeads, partial);  \
    }                                                                                                                \
    extern "C" __global__ void attention_merge_##CNAME##_d##D(const float* partial, int heads, int splits, CT* att) { \
        attention_decode_merge<CT, D>(partial, heads, splits, att);                                                  \
    }

DECODE_KERNELS(float, f32, 16)
DECODE_KERNELS(float, f32, 32)
DECODE_KERNELS(float, f32, 64)
DECODE_KERNELS(float, f32, 128)
DECODE_KERNELS(bf16, bf16, 16)
DECODE_KERNELS(bf16, bf16, 32)
DECODE_KERNELS(bf16, bf16, 64)
DECODE_KERNELS(bf16, bf16, 128)
