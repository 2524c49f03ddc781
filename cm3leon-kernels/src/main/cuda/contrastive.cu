// CD-K scoring (DESIGN §6). With p_c and p_a the conditional and amateur distributions and p_c^(k) the k-th largest
// of p_c: V = {t : p_c(t) ≥ α·p_c^(k)}, score(t) = log p_c(t) − log p_a(t) on V, −∞ elsewhere.
// Both sides of p_c(t) ≥ α·p_c^(k) share the normaliser, so V = {t : c_t ≥ c^(k) + ln α}: only the k-th largest
// logit is needed, found by radix select. Suppressed tokens (≤ −FLT_MAX, from the modality constraint) are outside V
// and do not count towards k. The score replaces the draw's row in place; sample.cu then treats it as logits.
// One block of 1024 threads per draw; draws of other kinds return at once.
#include "common.cuh"

__device__ __forceinline__ float key_to_float(unsigned int k) {
    return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

extern "C" __global__ void __launch_bounds__(1024) contrastive_score(const DrawParams* draws, float* scores,
                                                                     const float* amateur, int vocab) {
    __shared__ float scratch[32];
    __shared__ unsigned int hist[256], pick[2];
    const DrawParams p = draws[blockIdx.x];
    if (p.kind != DRAW_CONTRASTIVE) return;
    float* c = scores + (u64) blockIdx.x * vocab;
    const float* a = amateur + (u64) blockIdx.x * vocab;

    float mc = -CM3_INF, ma = -CM3_INF, live = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        mc = fmaxf(mc, c[i]);
        ma = fmaxf(ma, a[i]);
        if (c[i] > -CM3_FLT_MAX) live += 1.f;
    }
    mc = block_max(mc, scratch);
    ma = block_max(ma, scratch);
    int allowed = (int) block_sum(live, scratch);  // exact: counts stay far below 2^24
    float sc = 0.f, sa = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        sc += expf(__fsub_rn(c[i], mc));
        sa += expf(__fsub_rn(a[i], ma));
    }
    float lseC = __fadd_rn(mc, logf(block_sum(sc, scratch)));
    float lseA = __fadd_rn(ma, logf(block_sum(sa, scratch)));

    int k = min(max(p.contrastiveK, 1), max(allowed, 1));
    unsigned int kth = radix_select_kth_largest(vocab, k, [&](int i) { return float_key(c[i]); }, hist, pick);
    float limit = __fadd_rn(key_to_float(kth), logf(p.scale0));  // α in scale0; α = 0 admits every live token
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
        float ci = c[i];
        c[i] = ci > -CM3_FLT_MAX && ci >= limit ? __fsub_rn(__fsub_rn(ci, lseC), __fsub_rn(a[i], lseA)) : -CM3_INF;
    }
}
