// Modality constraints on each draw's scores, as the reference does them: the token gets -FLT_MAX (not -inf, so
// guidance arithmetic on suppressed entries stays finite). Text mode suppresses the image tokens; image mode every
// token that is not one. Contrastive draws constrain their amateur row the same way.
// Grid (blocks, draws); ids: the image-token ids and their complement, both on the device for the engine's lifetime.
#include "common.cuh"

extern "C" __global__ void suppress_tokens(const DrawParams* draws, float* scores, float* amateur, int vocab,
                                           const int* imageIds, int imageCount, const int* otherIds, int otherCount) {
    const DrawParams p = draws[blockIdx.y];
    if (p.modality == MODALITY_ANY) return;
    const int* ids = p.modality == MODALITY_TEXT ? imageIds : otherIds;
    int count = p.modality == MODALITY_TEXT ? imageCount : otherCount;
    float* s = scores + (u64) blockIdx.y * vocab;
    float* a = p.kind == DRAW_CONTRASTIVE ? amateur + (u64) blockIdx.y * vocab : 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        s[ids[i]] = -CM3_FLT_MAX;
        if (a) a[ids[i]] = -CM3_FLT_MAX;
    }
}
