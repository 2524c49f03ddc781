// Skinny product for the decode step: y[r, o] = Σ_k W[o, k] · x[r, k] for r < n ≤ 8 (y += … when accumulate).
// W: [out, k] row-major (a torch Linear weight), x: [n, k] in W's type, y: [n, out] f32.
//
// Decode is memory-bound: each weight byte should cross the bus once for all rows (streams) of the step. One warp
// per output row walks W with 16-byte loads, applies each loaded vector to every x row (x stays in L1/L2), and
// reduces with shuffles. cuBLAS serves the larger n of prefill.
// Grid: ceil(out / 8) blocks of 256 threads.
#include "common.cuh"

// build: fast-math

#define GEMV_MAX_ROWS 8
#define GEMV_WARPS 8

// 16 bytes → f32: bf16 is the upper half of an f32, little-endian pairs.
__device__ __forceinline__ void unpack16(uint4 v, float* f, bf16*) {
    unsigned int w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f[2 * i] = __uint_as_float(w[i] << 16);
        f[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
    }
}

__device__ __forceinline__ void unpack16(uint4 v, float* f, float*) {
    f[0] = __uint_as_float(v.x);
    f[1] = __uint_as_float(v.y);
    f[2] = __uint_as_float(v.z);
    f[3] = __uint_as_float(v.w);
}

template <typename T>
__device__ void gemv_rows(const T* W, const T* x, float* y, int n, int out, int k, int accumulate) {
    const int V = 16 / sizeof(T);
    int lane = threadIdx.x & 31;
    int o = blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5);
    if (o >= out) return;  // whole warps: only shuffles below
    const T* w = W + (u64) o * k;
    float acc[GEMV_MAX_ROWS];
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[r] = 0.f;

    // 16-byte loads need every row start aligned: k a multiple of V and 16-byte aligned bases.
    bool vectors = k % V == 0 && (((u64) W | (u64) x) & 15) == 0;
    if (vectors) {
#pragma unroll 4
        for (int c = lane * V; c < k; c += 32 * V) {
            float wf[16 / sizeof(T)];
            unpack16(*(const uint4*) (w + c), wf, (T*) 0);
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < n) {
                    float xf[16 / sizeof(T)];
                    unpack16(*(const uint4*) (x + (u64) r * k + c), xf, (T*) 0);
#pragma unroll
                    for (int j = 0; j < V; j++) acc[r] = fmaf(wf[j], xf[j], acc[r]);
                }
            }
        }
    } else {
        for (int c = lane; c < k; c += 32) {
            float wv = to_float(w[c]);
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < n) acc[r] = fmaf(wv, to_float(x[(u64) r * k + c]), acc[r]);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < n) {
            float s = warp_sum(acc[r]);
            if (lane == 0) {
                float* dst = y + (u64) r * out + o;
                *dst = accumulate ? *dst + s : s;
            }
        }
    }
}

extern "C" __global__ void __launch_bounds__(256) gemv_f32(const float* W, const float* x, float* y, int n, int out,
                                                           int k, int accumulate) {
    gemv_rows<float>(W, x, y, n, out, k, accumulate);
}

extern "C" __global__ void __launch_bounds__(256) gemv_bf16(const bf16* W, const bf16* x, float* y, int n, int out,
                                                            int k, int accumulate) {
    gemv_rows<bf16>(W, x, y, n, out, k, accumulate);
}
