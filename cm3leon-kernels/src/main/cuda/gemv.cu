// Skinny product for the decode step: y[r, o] = Σ_k W[o, k] · x[r, k] for r < n ≤ 8 (y += … when accumulate).
// W: [out, k] row-major (a torch Linear weight), x: [n, k] in W's type, y: [n, out] f32.
//
// Decode is memory-bound: each weight byte should cross the bus once for all rows (streams) of the step, with
// enough independent loads in flight to cover the memory latency. Two variants, both with f32 accumulation and a
// fixed summation order (a seeded run gives the same bits every time). cuBLAS serves the larger n of prefill.
//
// gemv_<T> — one warp per output row walks W with 16-byte loads, applies each loaded vector to every x row (x
//   stays in L1/L2), and reduces with shuffles. Grid: ceil(out / 8) blocks of 256 threads.
//
// gemv_tiled_<T> — a block of 8 warps owns GEMV_BLOCK_ROWS = 16 output rows: four row groups of GEMV_WARP_ROWS = 4
//   rows, each walked by a pair of warps splitting k between them (64 lanes per row, 16 bytes per lane). Every
//   lane issues GEMV_UNROLL × 4 weight loads before it uses any, and each x vector it reads serves four output
//   rows. The pair's partial sums meet in shared memory and are added in a fixed order. gemv_tiled_staged_<T>
//   first copies the block's x [n, k] into dynamic shared memory (n·k·sizeof(T) bytes; the host falls back to the
//   plain tiled kernel when that is too big), so that the 16 rows of the block read x once from L2.
//   Grid: ceil(out / 16) blocks of 256 threads.
#include "common.cuh"

// build: fast-math

#define GEMV_MAX_ROWS 8
#define GEMV_WARPS 8
#define GEMV_WARP_ROWS 4
#define GEMV_BLOCK_ROWS 16  // GEMV_WARPS / 2 row groups of GEMV_WARP_ROWS
#define GEMV_UNROLL 2

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

// acc[j][r] += Σ over the V elements at column c of W row j (wv[j]) times x row r; xs is x (global or shared).
template <typename T>
__device__ __forceinline__ void gemv_apply(const uint4* wv, const T* xs, int c, int n, int k,
                                           float (*acc)[GEMV_MAX_ROWS]) {
    const int V = 16 / sizeof(T);
    float wf[GEMV_WARP_ROWS][16 / sizeof(T)];
#pragma unroll
    for (int j = 0; j < GEMV_WARP_ROWS; j++) unpack16(wv[j], wf[j], (T*) 0);
#pragma unroll
    for (int r = 0; r < GEMV_MAX_ROWS; r++) {
        if (r < n) {
            float xf[16 / sizeof(T)];
            unpack16(*(const uint4*) (xs + (u64) r * k + c), xf, (T*) 0);
#pragma unroll
            for (int j = 0; j < GEMV_WARP_ROWS; j++) {
#pragma unroll
                for (int e = 0; e < V; e++) acc[j][r] = fmaf(wf[j][e], xf[e], acc[j][r]);
            }
        }
    }
}

// The weight vectors of GEMV_UNROLL sweeps from column c of each of the warp's rows.
template <typename T>
__device__ __forceinline__ void gemv_load(uint4 (*wv)[GEMV_WARP_ROWS], const T* const* w, int c, int step) {
#pragma unroll
    for (int u = 0; u < GEMV_UNROLL; u++) {
#pragma unroll
        for (int j = 0; j < GEMV_WARP_ROWS; j++) wv[u][j] = *(const uint4*) (w[j] + c + u * step);
    }
}

template <typename T, bool STAGED>
__device__ void gemv_tiled(const T* W, const T* x, float* y, int n, int out, int k, int accumulate) {
    const int V = 16 / sizeof(T);
    __shared__ float partial[GEMV_WARPS][GEMV_WARP_ROWS][GEMV_MAX_ROWS];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int group = warp >> 1, half = warp & 1;
    int tl = half * 32 + lane;  // lane within the pair of warps that walks this row group
    int o0 = blockIdx.x * GEMV_BLOCK_ROWS + group * GEMV_WARP_ROWS;
    // Rows past the end read the last row again (every warp stays for the barriers and shuffles) and write nothing.
    const T* w[GEMV_WARP_ROWS];
#pragma unroll
    for (int j = 0; j < GEMV_WARP_ROWS; j++) w[j] = W + (u64) min(o0 + j, out - 1) * k;

    bool vectors = k % V == 0 && (((u64) W | (u64) x) & 15) == 0;
    const int step = 64 * V;  // columns one sweep of the pair covers
    int c = tl * V;
    // The first full sweeps' weight loads are issued before x is staged, so that they overlap the copy.
    uint4 wv[GEMV_UNROLL][GEMV_WARP_ROWS];
    bool full = vectors && c + (GEMV_UNROLL - 1) * step < k;
    if (full) gemv_load<T>(wv, w, c, step);

    const T* xs = x;
    if (STAGED) {
        CM3_DYNAMIC_SHARED(smem);
        T* sx = (T*) smem;
        int total = n * k;
        if (vectors) {
            for (int i = threadIdx.x * V; i < total; i += blockDim.x * V) *(uint4*) (sx + i) = *(const uint4*) (x + i);
        } else {
            for (int i = threadIdx.x; i < total; i += blockDim.x) sx[i] = x[i];
        }
        __syncthreads();
        xs = sx;
    }

    float acc[GEMV_WARP_ROWS][GEMV_MAX_ROWS];
#pragma unroll
    for (int j = 0; j < GEMV_WARP_ROWS; j++) {
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) acc[j][r] = 0.f;
    }
    if (vectors) {
        // Full sweeps: all GEMV_UNROLL × GEMV_WARP_ROWS loads are issued before the first is used.
        while (full) {
#pragma unroll
            for (int u = 0; u < GEMV_UNROLL; u++) gemv_apply<T>(wv[u], xs, c + u * step, n, k, acc);
            c += GEMV_UNROLL * step;
            full = c + (GEMV_UNROLL - 1) * step < k;
            if (full) gemv_load<T>(wv, w, c, step);
        }
        for (; c < k; c += step) {
#pragma unroll
            for (int j = 0; j < GEMV_WARP_ROWS; j++) wv[0][j] = *(const uint4*) (w[j] + c);
            gemv_apply<T>(wv[0], xs, c, n, k, acc);
        }
    } else {
        for (int c = tl; c < k; c += 64) {
            float wf[GEMV_WARP_ROWS];
#pragma unroll
            for (int j = 0; j < GEMV_WARP_ROWS; j++) wf[j] = to_float(w[j][c]);
#pragma unroll
            for (int r = 0; r < GEMV_MAX_ROWS; r++) {
                if (r < n) {
                    float xv = to_float(xs[(u64) r * k + c]);
#pragma unroll
                    for (int j = 0; j < GEMV_WARP_ROWS; j++) acc[j][r] = fmaf(wf[j], xv, acc[j][r]);
                }
            }
        }
    }

#pragma unroll
    for (int j = 0; j < GEMV_WARP_ROWS; j++) {
#pragma unroll
        for (int r = 0; r < GEMV_MAX_ROWS; r++) {
            if (r < n) {
                float s = warp_sum(acc[j][r]);
                if (lane == 0) partial[warp][j][r] = s;
            }
        }
    }
    __syncthreads();
    // One thread per (row of the block, x row): the first warp of the pair, then the second, always in that order.
    for (int i = threadIdx.x; i < GEMV_BLOCK_ROWS * n; i += blockDim.x) {
        int r = i / GEMV_BLOCK_ROWS, b = i % GEMV_BLOCK_ROWS, g = b / GEMV_WARP_ROWS, j = b % GEMV_WARP_ROWS;
        int o = blockIdx.x * GEMV_BLOCK_ROWS + b;
        if (o < out) {
            float s = partial[2 * g][j][r] + partial[2 * g + 1][j][r];
            float* dst = y + (u64) r * out + o;
            *dst = accumulate ? *dst + s : s;
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

extern "C" __global__ void __launch_bounds__(256) gemv_tiled_f32(const float* W, const float* x, float* y, int n,
                                                                 int out, int k, int accumulate) {
    gemv_tiled<float, false>(W, x, y, n, out, k, accumulate);
}

extern "C" __global__ void __launch_bounds__(256) gemv_tiled_bf16(const bf16* W, const bf16* x, float* y, int n,
                                                                  int out, int k, int accumulate) {
    gemv_tiled<bf16, false>(W, x, y, n, out, k, accumulate);
}

extern "C" __global__ void __launch_bounds__(256) gemv_tiled_staged_f32(const float* W, const float* x, float* y,
                                                                        int n, int out, int k, int accumulate) {
    gemv_tiled<float, true>(W, x, y, n, out, k, accumulate);
}

extern "C" __global__ void __launch_bounds__(256) gemv_tiled_staged_bf16(const bf16* W, const bf16* x, float* y,
                                                                         int n, int out, int k, int accumulate) {
    gemv_tiled<bf16, true>(W, x, y, n, out, k, accumulate);
}
