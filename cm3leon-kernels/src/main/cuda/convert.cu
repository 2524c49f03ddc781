// f32 → bf16, round to nearest even: the residual stream cast to the matrix products' input type (swin-norm layout,
// where the un-normalised residual itself feeds the next projection).
#include "common.cuh"

extern "C" __global__ void convert_f32_to_bf16(const float* x, bf16* y, long long n) {
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        y[i] = from_float<bf16>(x[i]);
    }
}
