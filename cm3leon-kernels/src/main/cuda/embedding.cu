// Embedding gather: x[r, :] = table[tokens[r], :] widened to f32, the residual stream's first value.
// Grid: one block per row. The token ids were range-checked on the host.
#include "common.cuh"

template <typename T>
__device__ void embedding_gather(const T* table, const int* tokens, int d, float* x) {
    int r = blockIdx.x;
    const T* src = table + (u64) tokens[r] * d;
    float* dst = x + (u64) r * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) dst[i] = to_float(src[i]);
}

extern "C" __global__ void embedding_f32(const float* table, const int* tokens, int d, float* x) {
    embedding_gather<float>(table, tokens, d, x);
}

extern "C" __global__ void embedding_bf16(const bf16* table, const int* tokens, int d, float* x) {
    embedding_gather<bf16>(table, tokens, d, x);
}
