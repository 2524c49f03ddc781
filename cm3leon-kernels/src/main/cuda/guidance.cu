// Guidance mix of a step's logits rows into one score row per draw (DESIGN §6), in the CPU twin's exact order:
//   2 streams (paper):      u + s·(c − u)
//   3 streams (Meta/Anole): u + s_i·(i − u) + s_t·(f − i)
// Single draws copy their row; contrastive draws copy the conditional row to scores and the amateur row to amateur,
// for contrastive.cu. Grid (blocks, draws).
#include "common.cuh"

extern "C" __global__ void guidance_mix(const DrawParams* draws, const float* logits, int vocab, float* scores,
                                        float* amateur) {
    const DrawParams p = draws[blockIdx.y];
    float* out = scores + (u64) blockIdx.y * vocab;
    const float* r0 = logits + (u64) p.row0 * vocab;
    const float* r1 = logits + (u64) p.row1 * vocab;
    const float* r2 = logits + (u64) p.row2 * vocab;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < vocab; i += gridDim.x * blockDim.x) {
        switch (p.kind) {
        case DRAW_CFG2: {
            float c = r0[i], u = r1[i];
            out[i] = __fadd_rn(u, __fmul_rn(p.scale0, __fsub_rn(c, u)));
            break;
        }
        case DRAW_CFG3: {
            float f = r0[i], im = r1[i], u = r2[i];
            out[i] = __fadd_rn(__fadd_rn(u, __fmul_rn(p.scale0, __fsub_rn(im, u))), __fmul_rn(p.scale1, __fsub_rn(f, im)));
            break;
        }
        case DRAW_CONTRASTIVE:
            out[i] = r0[i];
            amateur[(u64) blockIdx.y * vocab + i] = r1[i];
            break;
        default:
            out[i] = r0[i];
        }
    }
}
