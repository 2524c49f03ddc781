// The emulator's runtime: kernel registry, the fiber scheduler that runs one block at a time, and a column-major
// GEMM with cuBLAS GemmEx's meaning for the types the engine uses. Called from Java through FFM (EmulatedDevice).
// x86-64 only: fibers switch stacks with a few instructions of assembly.
#include "emulator.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#if !defined(__x86_64__)
#error "the kernel emulator switches fibers with x86-64 assembly"
#endif

// Saves the callee-saved registers and the stack pointer into *save, then resumes the fiber whose stack is `to`.
extern "C" void emu_switch(void** save, void* to);
asm(R"(
.text
.globl emu_switch
.type emu_switch,@function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size emu_switch, .-emu_switch
)");

namespace emu {
ThreadState* current;
uint3 block_idx, block_dim, grid_dim;

namespace {
enum State { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_BARRIER, DONE };

struct Fiber {
    ThreadState ts;
    void* sp;
    State state;
    char* stack;
};

const size_t STACK_BYTES = 256 * 1024;
const size_t GUARD_BYTES = 4096;

struct Kernel {
    void* fn;
    Invoker invoker;
    int paramCount;
    const int* paramSizes;
};

std::map<std::string, Kernel>& registry() {
    static std::map<std::string, Kernel> r;
    return r;
}

std::vector<Fiber> fibers;
std::vector<unsigned char> dynamicShared;
uint64_t slots[32][32];
void* schedulerSp;
Fiber* running;
const Kernel* launching;
void** launchArgs;
std::mutex launchLock;

void yield(State s) {
    running->state = s;
    emu_switch(&running->sp, schedulerSp);
}

void fiberMain() {
    launching->invoker(launching->fn, launchArgs);
    yield(DONE);
    abort();  // a finished fiber is never resumed
}

void prepare(Fiber& f) {
    if (!f.stack) {
        char* mem = (char*) mmap(nullptr, STACK_BYTES + GUARD_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) abort();
        mprotect(mem, GUARD_BYTES, PROT_NONE);  // an overflow faults instead of corrupting a neighbour
        f.stack = mem + GUARD_BYTES;
    }
    uint64_t* sp = (uint64_t*) ((uintptr_t) (f.stack + STACK_BYTES) & ~(uintptr_t) 15);
    *--sp = 0;                       // where fiberMain would return to: it never does
    *--sp = (uint64_t) &fiberMain;   // emu_switch's ret lands here
    for (int i = 0; i < 6; i++) *--sp = 0;
    f.sp = sp;
    f.state = RUNNABLE;
}

// Runs every thread of the current block to completion; returns an error message or null.
const char* runBlock(int threads) {
    for (int t = 0; t < threads; t++) prepare(fibers[t]);
    for (;;) {
        bool ran = false;
        for (int t = 0; t < threads; t++) {
            if (fibers[t].state != RUNNABLE) continue;
            running = &fibers[t];
            current = &fibers[t].ts;
            emu_switch(&schedulerSp, fibers[t].sp);
            ran = true;
        }
        int done = 0, atBlock = 0;
        for (int t = 0; t < threads; t++) {
            done += fibers[t].state == DONE;
            atBlock += fibers[t].state == AT_BLOCK_BARRIER;
        }
        if (done == threads) return nullptr;
        bool released = false;
        for (int w = 0; w * 32 < threads; w++) {
            int waiting = 0, live = 0;
            for (int t = w * 32; t < threads && t < w * 32 + 32; t++) {
                live += fibers[t].state != DONE;
                waiting += fibers[t].state == AT_WARP_BARRIER;
            }
            if (waiting > 0 && waiting == live) {
                for (int t = w * 32; t < threads && t < w * 32 + 32; t++) {
                    if (fibers[t].state == AT_WARP_BARRIER) fibers[t].state = RUNNABLE;
                }
                released = true;
            }
        }
        if (!released && atBlock > 0 && atBlock + done == threads) {
            for (int t = 0; t < threads; t++) {
                if (fibers[t].state == AT_BLOCK_BARRIER) fibers[t].state = RUNNABLE;
            }
            released = true;
        }
        if (!released && !ran) return "deadlock: threads wait at barriers that cannot open (divergent __syncthreads or a partial warp)";
    }
}
}  // namespace

unsigned char* dynamic_shared() { return dynamicShared.data(); }
void block_barrier() { yield(AT_BLOCK_BARRIER); }
void warp_barrier() { yield(AT_WARP_BARRIER); }
uint64_t* warp_slots() { return slots[current->linear >> 5]; }

void register_kernel(const char* name, void* fn, Invoker invoker, int paramCount, const int* paramSizes) {
    registry()[name] = Kernel{fn, invoker, paramCount, paramSizes};
}
}  // namespace emu

extern "C" {

int emu_has_kernel(const char* name) { return emu::registry().count(name) ? 1 : 0; }

// The byte size of each parameter of a kernel, for copying launch arguments; returns the count, or -1.
int emu_param_sizes(const char* name, int* sizes, int max) {
    auto it = emu::registry().find(name);
    if (it == emu::registry().end()) return -1;
    for (int i = 0; i < it->second.paramCount && i < max; i++) sizes[i] = it->second.paramSizes[i];
    return it->second.paramCount;
}

// cuLaunchKernel's contract: args[i] points at the value of parameter i. Returns 0, or writes a message to err.
int emu_launch(const char* name, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by,
               unsigned int bz, unsigned int sharedBytes, void** args, char* err, int errLength) {
    using namespace emu;
    std::lock_guard<std::mutex> guard(launchLock);
    auto it = registry().find(name);
    if (it == registry().end()) {
        snprintf(err, errLength, "no kernel named %s", name);
        return 1;
    }
    unsigned int threads = bx * by * bz;
    if (threads == 0 || threads > 1024 || gx == 0 || gy == 0 || gz == 0) {
        snprintf(err, errLength, "%s: invalid launch shape (%u,%u,%u) x (%u,%u,%u)", name, gx, gy, gz, bx, by, bz);
        return 1;
    }
    launching = &it->second;
    launchArgs = args;
    if (fibers.size() < threads) fibers.resize(threads);
    grid_dim = {gx, gy, gz};
    block_dim = {bx, by, bz};
    for (unsigned int t = 0; t < threads; t++) {
        fibers[t].ts.tid = {t % bx, (t / bx) % by, t / (bx * by)};
        fibers[t].ts.linear = t;
    }
    for (unsigned int z = 0; z < gz; z++)
        for (unsigned int y = 0; y < gy; y++)
            for (unsigned int x = 0; x < gx; x++) {
                block_idx = {x, y, z};
                // Shared memory starts as NaN bytes, so reading what no thread wrote shows up in results.
                dynamicShared.assign(sharedBytes + 16, 0xff);
                const char* failure = runBlock((int) threads);
                if (failure) {
                    snprintf(err, errLength, "%s block (%u,%u,%u): %s", name, x, y, z, failure);
                    return 1;
                }
            }
    return 0;
}

static float load(const void* p, int type, size_t i) {
    if (type == 0) return ((const float*) p)[i];
    return __bfloat162float(((const __nv_bfloat16*) p)[i]);
}

static void store(void* p, int type, size_t i, float v) {
    if (type == 0) ((float*) p)[i] = v;
    else ((__nv_bfloat16*) p)[i] = __float2bfloat16(v);
}

// cublasGemmEx, column-major, f32 accumulation: C = alpha·op(A)·op(B) + beta·C (C unread when beta is 0).
// Types: 0 CUDA_R_32F, 14 CUDA_R_16BF. op: 0 N, 1 T.
int emu_gemm(int transa, int transb, int m, int n, int k, float alpha, const void* A, int atype, int lda, const void* B,
             int btype, int ldb, float beta, void* C, int ctype, int ldc) {
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++) {
            float s = 0.f;
            for (int p = 0; p < k; p++) {
                float a = load(A, atype, transa ? (size_t) p + (size_t) i * lda : (size_t) i + (size_t) p * lda);
                float b = load(B, btype, transb ? (size_t) j + (size_t) p * ldb : (size_t) p + (size_t) j * ldb);
                s += a * b;
            }
            size_t c = (size_t) i + (size_t) j * ldc;
            store(C, ctype, c, beta == 0.f ? alpha * s : alpha * s + beta * load(C, ctype, c));
        }
    return 0;
}
}
