// Per-head QK-LayerNorm, rotate-half RoPE and the KV-cache append, fused: the fused projection's output is read once.
//
// qkv: [n, qDim + 2·kvDim] f32 rows, q | k | v, from the fused q/k/v projection. q is rewritten in place (attention
// reads it from there); k and v of row r go to the cache of its stream at its position.
// Cache arena of a stream (CudaKvCache): [layers][2][capacity][kvDim] in the cache type, K then V per layer.
// Grid (n, ceil((heads + kvHeads) / 4)), 128 threads: one warp per head, q heads first, then k heads (which also
// move their v head).
#include "common.cuh"

#define HEADS_PER_BLOCK 4
#define MAX_HEAD_DIM 256

template <typename CacheT>
__device__ void qk_norm_rope_append(float* qkv, int heads, int kvHeads, int headDim,
                                    const float* qNormW, const float* qNormB, const float* kNormW, const float* kNormB,
                                    float eps, const float* cosTable, const float* sinTable,
                                    const int* rowPos, const int* rowStream, const u64* streamKv, const int* streamCap,
                                    int layer) {
    __shared__ float normed[HEADS_PER_BLOCK][MAX_HEAD_DIM];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int head = blockIdx.y * HEADS_PER_BLOCK + warp;
    if (head >= heads + kvHeads) return;  // whole warps only: nothing below syncs the block
    int r = blockIdx.x;
    int qDim = heads * headDim, kvDim = kvHeads * headDim;
    bool isQuery = head < heads;
    int h = isQuery ? head : head - heads;
    float* row = qkv + (u64) r * (qDim + 2 * kvDim);
    float* src = isQuery ? row + h * headDim : row + qDim + h * headDim;
    float* buf = normed[warp];

    const float* w = isQuery ? qNormW : kNormW;
    const float* b = isQuery ? qNormB : kNormB;
    if (w) {
        // LayerNorm over this head's values with its own weight and bias; two-pass statistics as torch computes them.
        float s = 0.f;
        for (int i = lane; i < headDim; i += 32) s += src[i];
        float mean = __fdiv_rn(warp_sum(s), (float) headDim);
        float v = 0.f;
        for (int i = lane; i < headDim; i += 32) {
            float c = __fsub_rn(src[i], mean);
            v = fmaf(c, c, v);
        }
        float var = __fdiv_rn(warp_sum(v), (float) headDim);
        float inv = (float) (1.0 / sqrt((double) __fadd_rn(var, eps)));
        for (int i = lane; i < headDim; i += 32) {
            int wi = h * headDim + i;
            buf[i] = __fadd_rn(__fmul_rn(__fmul_rn(__fsub_rn(src[i], mean), inv), w[wi]), b[wi]);
        }
    } else {
        for (int i = lane; i < headDim; i += 32) buf[i] = src[i];
    }
    __syncwarp();

    // Rotate-half: the pair (i, i + half) turns by the angle of frequency i at this row's position.
    int pos = rowPos[r], half = headDim / 2;
    const float* cs = cosTable + (u64) pos * half;
    const float* sn = sinTable + (u64) pos * half;
    CacheT* kDst = 0;
    CacheT* vDst = 0;
    if (!isQuery) {
        int s = rowStream[r];
        u64 cap = (u64) streamCap[s];
        CacheT* arena = (CacheT*) streamKv[s];
        kDst = arena + (((u64) layer * 2) * cap + pos) * kvDim + h * headDim;
        vDst = arena + (((u64) layer * 2 + 1) * cap + pos) * kvDim + h * headDim;
    }
    for (int i = lane; i < half; i += 32) {
        float x1 = buf[i], x2 = buf[i + half], c = cs[i], sn_i = sn[i];
        float y1 = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, sn_i));
        float y2 = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, sn_i));
        if (isQuery) {
            src[i] = y1;
            src[i + half] = y2;
        } else {
            kDst[i] = from_float<CacheT>(y1);
            kDst[i + half] = from_float<CacheT>(y2);
        }
    }
    if (!isQuery) {
        const float* v = row + qDim + kvDim + h * headDim;
        for (int i = lane; i < headDim; i += 32) vDst[i] = from_float<CacheT>(v[i]);
    }
}

extern "C" __global__ void qk_norm_rope_f32(float* qkv, int heads, int kvHeads, int headDim,
                                            const float* qNormW, const float* qNormB, const float* kNormW,
                                            const float* kNormB, float eps, const float* cosTable,
                                            const float* sinTable, const int* rowPos, const int* rowStream,
                                            const u64* streamKv, const int* streamCap, int layer) {
    qk_norm_rope_append<float>(qkv, heads, kvHeads, headDim, qNormW, qNormB, kNormW, kNormB, eps, cosTable, sinTable,
                               rowPos, rowStream, streamKv, streamCap, layer);
}

extern "C" __global__ void qk_norm_rope_bf16(float* qkv, int heads, int kvHeads, int headDim,
                                             const float* qNormW, const float* qNormB, const float* kNormW,
                                             const float* kNormB, float eps, const float* cosTable,
                                             const float* sinTable, const int* rowPos, const int* rowStream,
                                             const u64* streamKv, const int* streamCap, int layer) {
    qk_norm_rope_append<bf16>(qkv, heads, kvHeads, headDim, qNormW, qNormB, kNormW, kNormB, eps, cosTable, sinTable,
                              rowPos, rowStream, streamKv, streamCap, layer);
}
