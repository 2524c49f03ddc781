// Shared by every kernel file: element types, conversions, warp and block reductions, the order-preserving float key
// and the radix select that top-k, top-p and CD-K build on, and the per-draw parameter block of device sampling.
//
// Kept free of the C++ standard library so that NVRTC (which has none) compiles it as nvcc does. Under
// CM3LEON_EMULATE the same sources build for the CPU emulator the tests use when no GPU is present.
#pragma once

#ifdef CM3LEON_EMULATE
#include "emulator.h"
#else
#include <cuda_bf16.h>
#endif

typedef __nv_bfloat16 bf16;
typedef unsigned long long u64;

#define CM3_FLT_MAX 3.402823466e+38f
#define CM3_INF __int_as_float(0x7f800000)
#define CM3_LOG2E 1.4426950408889634f
#define FULL_MASK 0xffffffffu

// Dynamic shared memory, 128-byte aligned (wmma needs 32). A macro because the emulator provides it differently.
#ifndef CM3_DYNAMIC_SHARED
#define CM3_DYNAMIC_SHARED(name) extern __shared__ __align__(128) unsigned char name[]
#endif

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
// Round to nearest even, as torch's .to(bfloat16) does.
template <> __device__ __forceinline__ bf16 from_float<bf16>(float x) { return __float2bfloat16(x); }

// Butterfly reductions: every lane ends with the same value, in the same order on every run.
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

__device__ __forceinline__ u64 warp_sum_u64(u64 v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

// Block-wide sum; every thread gets the result. scratch: 32 floats of shared memory, reusable right after.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();  // a previous call may still be reading scratch
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_sum(lane < warps ? scratch[lane] : 0.f);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_max(lane < warps ? scratch[lane] : -CM3_INF);
}

__device__ __forceinline__ u64 block_sum_u64(u64 v, u64* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = warp_sum_u64(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    return warp_sum_u64(lane < warps ? scratch[lane] : 0ull);
}

// Unsigned key whose order is the float order (-inf lowest): flip all bits of negatives, the sign bit of positives.
__device__ __forceinline__ unsigned int float_key(float f) {
    unsigned int u = __float_as_uint(f);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Key of the k-th largest (1-based, 1 ≤ k ≤ n) of n keys, by four 8-bit radix passes over a 256-bin histogram; ties
// count separately, so every element whose key is ≥ the result is among the top k or tied with the k-th. All
// threads of the block call it. hist: 256 shared words; pick: 2 shared words.
template <typename KeyOf>
__device__ unsigned int radix_select_kth_largest(int n, int k, KeyOf key, unsigned int* hist, unsigned int* pick) {
    unsigned int prefix = 0, prefixMask = 0;
    unsigned int rank = (unsigned int) k;  // rank still wanted inside the bucket chosen so far, from the top
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            unsigned int kk = key(i);
            if ((kk & prefixMask) == prefix) atomicAdd(&hist[(kk >> shift) & 255u], 1u);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            unsigned int r = rank;
            int b = 255;
            for (; b > 0 && hist[b] < r; --b) r -= hist[b];
            pick[0] = (unsigned int) b;
            pick[1] = r;
        }
        __syncthreads();
        prefix |= pick[0] << shift;
        prefixMask |= 255u << shift;
        rank = pick[1];
        __syncthreads();  // pick and hist are rewritten by the next pass
    }
    return prefix;
}

// Largest key τ such that the mass of the elements with key ≥ τ reaches target (the smallest top set by mass, ties
// at τ included). mass(i) is 0 for elements that take no part. hist: 256 shared u64; pick: 2 shared u64.
template <typename KeyOf, typename MassOf>
__device__ unsigned int radix_select_by_mass(int n, u64 target, KeyOf key, MassOf mass, u64* hist, u64* pick) {
    unsigned int prefix = 0, prefixMask = 0;
    u64 wanted = target;  // mass still wanted inside the bucket chosen so far
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int b = threadIdx.x; b < 256; b += blockDim.x) hist[b] = 0;
        __syncthreads();
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            u64 m = mass(i);
            if (m == 0) continue;
            unsigned int kk = key(i);
            if ((kk & prefixMask) == prefix) atomicAdd(&hist[(kk >> shift) & 255u], m);
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            u64 w = wanted;
            int b = 255;
            for (; b > 0 && hist[b] < w; --b) w -= hist[b];
            pick[0] = (u64) b;
            pick[1] = w;
        }
        __syncthreads();
        prefix |= ((unsigned int) pick[0]) << shift;
        prefixMask |= 255u << shift;
        wanted = pick[1];
        __syncthreads();
    }
    return prefix;
}

// One draw of device sampling, written by the host for each step (dev.cm3leon.cuda.DrawTable mirrors it).
// 64 bytes; the kernels read it from device memory so a captured decode graph serves every step.
struct DrawParams {
    int kind;              // DRAW_SINGLE, DRAW_CFG2, DRAW_CFG3, DRAW_CONTRASTIVE
    int row0, row1, row2;  // logits rows: single c; cfg2 c,u; cfg3 f,i,u; contrastive c,a
    float scale0, scale1;  // cfg2 s; cfg3 s_i, s_t; contrastive α in scale0
    int contrastiveK;      // contrastive k
    int modality;          // MODALITY_ANY, MODALITY_TEXT (image tokens suppressed), MODALITY_IMAGE (only image tokens)
    float temperature;     // ≤ 0: greedy (argmax, first on ties)
    int topK;              // ≤ 0 or ≥ vocab: off
    float topP;            // ≥ 1: off
    float minP;            // ≤ 0: off
    unsigned int seedLo, seedHi;        // Philox key
    unsigned int counterLo, counterHi;  // Philox counter (the step)
};

#define DRAW_SINGLE 0
#define DRAW_CFG2 1
#define DRAW_CFG3 2
#define DRAW_CONTRASTIVE 3

#define MODALITY_ANY 0
#define MODALITY_TEXT 1
#define MODALITY_IMAGE 2
