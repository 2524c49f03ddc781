// SwiGLU: h[r, j] = silu(g) · u with g = gu[r, j], u = gu[r, ff + j]; gu is the fused gate|up projection [n, 2·ff].
// h is written in the type of the down projection's input. Grid-stride over n·ff elements.
#include "common.cuh"

template <typename OutT>
__device__ void swiglu_rows(const float* gu, int n, int ff, OutT* h) {
    long long total = (long long) n * ff;
    for (long long e = (long long) blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (long long) gridDim.x * blockDim.x) {
        long long r = e / ff, j = e - r * ff;
        float g = gu[r * 2 * ff + j], u = gu[r * 2 * ff + ff + j];
        // The CPU twin's order: (g / (1 + e^-g)) · u, no fused multiply-add.
        h[e] = from_float<OutT>(__fmul_rn(__fdiv_rn(g, __fadd_rn(1.f, expf(-g))), u));
    }
}

extern "C" __global__ void swiglu_f32(const float* gu, int n, int ff, float* h) { swiglu_rows<float>(gu, n, ff, h); }

extern "C" __global__ void swiglu_bf16(const float* gu, int n, int ff, bf16* h) { swiglu_rows<bf16>(gu, n, ff, h); }
