// A CPU stand-in for the CUDA device, so that the kernels run in tests on machines without a GPU.
//
// common.cuh includes this instead of the CUDA headers when CM3LEON_EMULATE is defined; the kernel sources are
// compiled unchanged by the host compiler. Each block runs its threads as fibers on one OS thread: a thread runs
// until it reaches a barrier (__syncthreads, __syncwarp, a shuffle, a wmma collective), then the next one runs; a
// barrier opens when every live thread of its block (or warp) waits at it, and a barrier nobody can open is reported
// as a deadlock. Blocks run one after another, so __shared__ can be a static and atomics are plain arithmetic.
// Fragments of wmma hold the whole tile in every lane (their layout is opaque on the GPU too).
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __shared__ static
#define __restrict__

struct uint3 { unsigned int x, y, z; };
struct uint2 { unsigned int x, y; };
struct uint4 { unsigned int x, y, z, w; };
struct int4 { int x, y, z, w; };
inline uint4 make_uint4(unsigned int x, unsigned int y, unsigned int z, unsigned int w) { return {x, y, z, w}; }

namespace emu {
struct ThreadState { uint3 tid; unsigned int linear; };
extern ThreadState* current;
extern uint3 block_idx, block_dim, grid_dim;
unsigned char* dynamic_shared();
void block_barrier();
void warp_barrier();
uint64_t* warp_slots();  // 32 exchange slots of the current thread's warp

inline unsigned int lane() { return current->linear & 31u; }

template <class T>
T exchange(T v, unsigned int from) {
    uint64_t* slots = warp_slots();
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    slots[lane()] = bits;
    warp_barrier();
    uint64_t got = slots[from & 31u];
    warp_barrier();  // nobody overwrites a slot before every lane has read
    T r;
    memcpy(&r, &got, sizeof(T));
    return r;
}

typedef void (*Invoker)(void* fn, void** args);
void register_kernel(const char* name, void* fn, Invoker invoker, int paramCount, const int* paramSizes);

template <class... A, size_t... I>
void call(void (*fn)(A...), void** args, std::index_sequence<I...>) {
    fn(*reinterpret_cast<typename std::remove_reference<A>::type*>(args[I])...);
}

template <class... A>
void invoke(void* fn, void** args) {
    call(reinterpret_cast<void (*)(A...)>(fn), args, std::index_sequence_for<A...>{});
}

// Unpacks cuLaunchKernel-style arguments (an array of pointers to each value) into the kernel's parameters.
struct Registrar {
    template <class... A>
    Registrar(const char* name, void (*fn)(A...)) {
        static const int sizes[] = {(int) sizeof(A)..., 0};  // a graph copies arguments by these sizes
        register_kernel(name, reinterpret_cast<void*>(fn), &invoke<A...>, (int) sizeof...(A), sizes);
    }
};
}  // namespace emu

#define threadIdx (emu::current->tid)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)
#define CM3_DYNAMIC_SHARED(name) unsigned char* name = emu::dynamic_shared()

inline void __syncthreads() { emu::block_barrier(); }
inline void __syncwarp(unsigned int = 0xffffffffu) { emu::warp_barrier(); }

template <class T> T __shfl_sync(unsigned int, T v, int src) { return emu::exchange(v, (unsigned int) src); }
template <class T> T __shfl_xor_sync(unsigned int, T v, int mask) { return emu::exchange(v, emu::lane() ^ (unsigned int) mask); }
template <class T> T __shfl_up_sync(unsigned int, T v, unsigned int d) {
    unsigned int l = emu::lane();
    return emu::exchange(v, l >= d ? l - d : l);
}
template <class T> T __shfl_down_sync(unsigned int, T v, unsigned int d) {
    unsigned int l = emu::lane();
    return emu::exchange(v, l + d < 32 ? l + d : l);
}

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }

inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned int i) { float f; memcpy(&f, &i, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int i; memcpy(&i, &f, 4); return i; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int) (((uint64_t) a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long) (((unsigned __int128) a * b) >> 64);
}

inline unsigned int atomicAdd(unsigned int* p, unsigned int v) { unsigned int o = *p; *p = o + v; return o; }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { unsigned long long o = *p; *p = o + v; return o; }
inline int atomicAdd(int* p, int v) { int o = *p; *p = o + v; return o; }
inline float atomicAdd(float* p, float v) { float o = *p; *p = o + v; return o; }

struct __nv_bfloat16 { unsigned short bits; };
inline float __bfloat162float(__nv_bfloat16 h) { return __uint_as_float((unsigned int) h.bits << 16); }
inline __nv_bfloat16 __float2bfloat16(float f) {  // round to nearest even; NaN stays NaN
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(unsigned short) ((u >> 16) | 0x40u)};
    u += 0x7fffu + ((u >> 16) & 1u);
    return {(unsigned short) (u >> 16)};
}

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
    static const int rows = std::is_same<Use, matrix_b>::value ? K : M;
    static const int cols = std::is_same<Use, matrix_a>::value ? K : N;
    static const int num_elements = rows * cols;
    T x[rows * cols];  // the tile, row-major
};

inline float as_float(float v) { return v; }
inline float as_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <class F, class V>
void fill_fragment(F& f, V v) {
    emu::warp_barrier();
    for (int e = 0; e < F::num_elements; e++) f.x[e] = v;
}

template <class Use, int M, int N, int K, class T, class Layout>
void load_matrix_sync(fragment<Use, M, N, K, T, Layout>& f, const T* p, unsigned int ldm) {
    typedef fragment<Use, M, N, K, T, Layout> F;
    emu::warp_barrier();
    for (int i = 0; i < F::rows; i++)
        for (int j = 0; j < F::cols; j++)
            f.x[i * F::cols + j] = std::is_same<Layout, row_major>::value ? p[(size_t) i * ldm + j] : p[(size_t) j * ldm + i];
}

template <int M, int N, int K, class T>
void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const T* p, unsigned int ldm, layout_t l) {
    emu::warp_barrier();
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) f.x[i * N + j] = l == mem_row_major ? p[(size_t) i * ldm + j] : p[(size_t) j * ldm + i];
}

template <int M, int N, int K, class T>
void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T>& f, unsigned int ldm, layout_t l) {
    emu::warp_barrier();
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) (l == mem_row_major ? p[(size_t) i * ldm + j] : p[(size_t) j * ldm + i]) = f.x[i * N + j];
    emu::warp_barrier();  // every lane stores the same tile; let all finish before anyone reads it
}

template <int M, int N, int K, class TA, class LA, class TB, class LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
              const fragment<matrix_b, M, N, K, TB, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
    emu::warp_barrier();
    float out[M * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float s = c.x[i * N + j];
            for (int k = 0; k < K; k++) s += as_float(a.x[i * K + k]) * as_float(b.x[k * N + j]);
            out[i * N + j] = s;
        }
    for (int e = 0; e < M * N; e++) d.x[e] = out[e];
}
}  // namespace wmma
}  // namespace nvcuda
