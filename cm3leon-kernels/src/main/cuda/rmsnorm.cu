// RMSNorm, one block per row, statistics in f32 as HF computes them: y = w · (x · 1/sqrt(mean(x²) + eps)).
//
// rmsnorm_*: the pre-norm layout. The residual add that precedes it is folded into the projection before (cuBLAS
// beta = 1 / gemv accumulate), so this only reads x. An optional row list gathers the rows whose logits are wanted
// (final norm) into a dense output.
// rmsnorm_residual_*: the swin-norm layout, x += norm(y) · w, with an optional cast copy of the new x for the next
// projection.
#include "common.cuh"

// 1/sqrt(mean + eps) rounded once from double, as the CPU twin computes it.
__device__ __forceinline__ float inverse_rms(float sumSquares, int d, float eps) {
    float mean = __fdiv_rn(sumSquares, (float) d);
    return (float) (1.0 / sqrt((double) __fadd_rn(mean, eps)));
}

template <typename OutT>
__device__ void rmsnorm_rows(const float* x, const float* w, const int* rows, OutT* out, int d, float eps) {
    __shared__ float scratch[32];
    int r = blockIdx.x;
    const float* src = x + (u64) (rows ? rows[r] : r) * d;
    float ss = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) ss = fmaf(src[i], src[i], ss);
    float inv = inverse_rms(block_sum(ss, scratch), d, eps);
    OutT* dst = out + (u64) r * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) dst[i] = from_float<OutT>(__fmul_rn(w[i], __fmul_rn(src[i], inv)));
}

template <typename OutT>
__device__ void rmsnorm_residual_rows(const float* y, const float* w, float* x, OutT* xCast, int d, float eps) {
    __shared__ float scratch[32];
    u64 off = (u64) blockIdx.x * d;
    float ss = 0.f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) ss = fmaf(y[off + i], y[off + i], ss);
    float inv = inverse_rms(block_sum(ss, scratch), d, eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float v = __fadd_rn(x[off + i], __fmul_rn(w[i], __fmul_rn(y[off + i], inv)));
        x[off + i] = v;
        if (xCast) xCast[off + i] = from_float<OutT>(v);
    }
}

extern "C" __global__ void rmsnorm_f32(const float* x, const float* w, const int* rows, float* out, int d, float eps) {
    rmsnorm_rows<float>(x, w, rows, out, d, eps);
}

extern "C" __global__ void rmsnorm_bf16(const float* x, const float* w, const int* rows, bf16* out, int d, float eps) {
    rmsnorm_rows<bf16>(x, w, rows, out, d, eps);
}

extern "C" __global__ void rmsnorm_residual_f32(const float* y, const float* w, float* x, float* xCast, int d, float eps) {
    rmsnorm_residual_rows<float>(y, w, x, xCast, d, eps);
}

extern "C" __global__ void rmsnorm_residual_bf16(const float* y, const float* w, float* x, bf16* xCast, int d, float eps) {
    rmsnorm_residual_rows<bf16>(y, w, x, xCast, d, eps);
}
