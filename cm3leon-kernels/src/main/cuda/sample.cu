// The last stage of device sampling: one token id per draw from its score row [vocab], so a step copies back a few
// ints instead of the vocabulary. Stages in HF's order, each on what the previous kept:
//   temperature ≤ 0 → argmax (first on ties, as torch.argmax); else
//   top-k on the scores (tie-inclusive) → weights e_t = exp((x_t − max) / T) → top-p: the smallest top set whose
//   mass reaches p (ties at the threshold kept) → min-p: e_t ≥ min_p (the top token's weight is exp(0) = 1) →
//   inverse-CDF draw in vocabulary order with u from Philox4x32-10 keyed by the request's seed.
// Masses are fixed-point integers (e_t / Z · 2^40) so that sums are exact and a seed gives the same token on every
// run; the test tree's SamplingReference is the Java twin. One block of 1024 threads per draw.
#include "common.cuh"

#define SAMPLE_THREADS 1024

// Philox4x32-10 (Salmon et al., SC'11): ten rounds of two 32×32→64 multiplies, key bumped by the Weyl constants.
__device__ __forceinline__ uint4 philox4x32_10(uint4 ctr, unsigned int k0, unsigned int k1) {
    for (int round = 0; round < 10; round++) {
        unsigned int hi0 = __umulhi(0xD2511F53u, ctr.x), lo0 = 0xD2511F53u * ctr.x;
        unsigned int hi1 = __umulhi(0xCD9E8D57u, ctr.z), lo1 = 0xCD9E8D57u * ctr.z;
        ctr = make_uint4(hi1 ^ ctr.y ^ k0, lo1, hi0 ^ ctr.w ^ k1, lo0);
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    return ctr;
}

// Index of the largest value, the first one on ties; every thread gets it.
__device__ int block_argmax(const float* x, int n, float* values, int* indices) {
    float best = -CM3_INF;
    int at = 0x7fffffff;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float v = x[i];
        if (v > best || (v == best && i < at)) {
            best = v;
            at = i;
        }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(FULL_MASK, best, o);
        int oi = __shfl_xor_sync(FULL_MASK, at, o);
        if (ov > best || (ov == best && oi < at)) {
            best = ov;
            at = oi;
        }
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) {
        values[warp] = best;
        indices[warp] = at;
    }
    __syncthreads();
    best = lane < warps ? values[lane] : -CM3_INF;
    at = lane < warps ? indices[lane] : 0x7fffffff;
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(FULL_MASK, best, o);
        int oi = __shfl_xor_sync(FULL_MASK, at, o);
        if (ov > best || (ov == best && oi < at)) {
            best = ov;
            at = oi;
        }
    }
    return at;
}

// Exclusive prefix sum over the block in thread order; *total gets the sum. blockDim.x is a multiple of 32.
__device__ u64 block_exclusive_scan_u64(u64 v, u64* warpSums, u64* total) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    u64 inc = v;
    for (int o = 1; o < 32; o <<= 1) {
        u64 n = __shfl_up_sync(FULL_MASK, inc, o);
        if (lane >= o) inc += n;
    }
    __syncthreads();
    if (lane == 31) warpSums[warp] = inc;
    __syncthreads();
    if (warp == 0) {
        u64 w = lane < warps ? warpSums[lane] : 0ull;
        for (int o = 1; o < 32; o <<= 1) {
            u64 n = __shfl_up_sync(FULL_MASK, w, o);
            if (lane >= o) w += n;
        }
        if (lane < warps) warpSums[lane] = w;
    }
    __syncthreads();
    *total = warpSums[warps - 1];
    return (warp > 0 ? warpSums[warp - 1] : 0ull) + inc - v;
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS) sample_tokens(const DrawParams* draws,
                                                                           const float* scores, int vocab,
                                                                           int* tokens) {
    __shared__ float scratch[32];
    __shared__ int scratchIdx[32];
    __shared__ u64 scratch64[32];
    __shared__ unsigned int hist[256], pick[2];
    __shared__ u64 hist64[256], pick64[2];
    const DrawParams p = draws[blockIdx.x];
    const float* x = scores + (u64) blockIdx.x * vocab;

    float m = -CM3_INF;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) m = fmaxf(m, x[i]);
    m = block_max(m, scratch);
    if (p.temperature <= 0.f || !(m > -CM3_FLT_MAX)) {  // greedy, or nothing left to sample from
        int best = block_argmax(x, vocab, scratch, scratchIdx);
        if (threadIdx.x == 0) tokens[blockIdx.x] = best;
        return;
    }

    // Top-k on the scores themselves: dividing by T > 0 keeps their order.
    unsigned int kKey = 0;
    if (p.topK > 0 && p.topK < vocab) {
        kKey = radix_select_kth_largest(vocab, p.topK, [&](int i) { return float_key(x[i]); }, hist, pick);
    }
    float T = p.temperature;
    auto weight = [&](int i) -> float {
        float v = x[i];
        return float_key(v) >= kKey ? expf(__fdiv_rn(__fsub_rn(v, m), T)) : 0.f;
    };
    float z = 0.f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) z += weight(i);
    z = block_sum(z, scratch);
    double scale = 1099511627776.0 / (double) z;  // 2^40
    auto mass = [&](int i) -> u64 { return (u64) ((double) weight(i) * scale); };

    unsigned int pKey = 0;
    if (p.topP < 1.f) {
        u64 all = 0;
        for (int i = threadIdx.x; i < vocab; i += blockDim.x) all += mass(i);
        all = block_sum_u64(all, scratch64);
        u64 target = (u64) ((double) p.topP * (double) all);
        if (target == 0) target = 1;  // keep at least the top token
        pKey = radix_select_by_mass(vocab, target, [&](int i) { return float_key(weight(i)); }, mass, hist64, pick64);
    }
    float minWeight = p.minP > 0.f ? p.minP : 0.f;
    auto kept = [&](int i) -> u64 {
        float e = weight(i);
        if (e == 0.f || float_key(e) < pKey || e < minWeight) return 0ull;
        return (u64) ((double) e * scale);
    };

    // Inverse CDF: thread t owns the contiguous chunk [t·C, (t+1)·C) so that the scan follows vocabulary order.
    int C = (vocab + blockDim.x - 1) / blockDim.x;
    int from = min(vocab, (int) threadIdx.x * C), to = min(vocab, from + C);
    u64 mine = 0;
    for (int i = from; i < to; i++) mine += kept(i);
    u64 total;
    u64 before = block_exclusive_scan_u64(mine, scratch64, &total);
    uint4 r = philox4x32_10(make_uint4(p.counterLo, p.counterHi, 0u, 0u), p.seedLo, p.seedHi);
    u64 target = __umul64hi(total, ((u64) r.x) << 32);  // ⌊total · u⌋, u = r.x / 2^32 ∈ [0, 1)
    if (mine > 0 && before <= target && target < before + mine) {
        u64 acc = before;
        for (int i = from; i < to; i++) {
            acc += kept(i);
            if (acc > target) {
                tokens[blockIdx.x] = i;
                break;
            }
        }
    }
}
