// Stand-ins for the CUDA driver API and cuBLAS entry points the backend binds, on top of the kernel emulator, so
// that CudaDevice, CudaDriver and Cublas (their FFM signatures, module loading, graphs, events) run in tests
// without a GPU. Device memory is host memory; every "async" call completes before it returns; a captured graph
// keeps copies of each launch's arguments, as the real one does.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <string>
#include <vector>

extern "C" int emu_launch(const char*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void**, char*, int);
extern "C" int emu_has_kernel(const char*);
extern "C" int emu_param_sizes(const char*, int*, int);
extern "C" int emu_gemm(int, int, int, int, int, float, const void*, int, int, const void*, int, int, float, void*, int, int);

namespace {
const int NOT_FOUND = 500, INVALID_VALUE = 1, LAUNCH_FAILED = 719, INVALID_IMAGE = 200;

struct Launch {
    std::string name;
    unsigned grid[3], block[3], shared;
    std::vector<std::vector<unsigned char>> args;
};
struct Graph {
    std::vector<Launch> launches;
};
Graph* capturing = nullptr;
char dummy[64];

int run(const Launch& l) {
    std::vector<void*> pointers;
    for (auto& a : l.args) pointers.push_back((void*) a.data());
    char err[512];
    return emu_launch(l.name.c_str(), l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1], l.block[2], l.shared,
                      pointers.data(), err, sizeof err) == 0 ? 0 : LAUNCH_FAILED;
}
}  // namespace

extern "C" {
int cuInit(unsigned) { return 0; }
int cuDriverGetVersion(int* v) { *v = 13000; return 0; }
int cuDeviceGetCount(int* n) { *n = 1; return 0; }
int cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_VALUE; *d = 0; return 0; }
int cuDeviceGetName(char* name, int len, int) { strncpy(name, "Emulated GPU", len); return 0; }
int cuDeviceGetAttribute(int* v, int attribute, int) {
    switch (attribute) {
    case 16: *v = 8; return 0;           // multiprocessors
    case 75: *v = 9; return 0;           // compute capability 9.0
    case 76: *v = 0; return 0;
    case 97: *v = 227 * 1024; return 0;  // shared memory per block, opt-in
    default: return INVALID_VALUE;
    }
}
int cuDeviceTotalMem_v2(size_t* b, int) { *b = (size_t) 80 << 30; return 0; }
int cuGetErrorName(int rc, const char** s) { *s = rc == LAUNCH_FAILED ? "CUDA_ERROR_LAUNCH_FAILED" : "CUDA_ERROR_EMULATED"; return 0; }
int cuGetErrorString(int, const char** s) { *s = "reported by the emulated driver"; return 0; }
int cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = dummy; return 0; }
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(void*) { return 0; }
int cuStreamCreate(void** s, unsigned) { *s = dummy + 1; return 0; }
int cuStreamDestroy_v2(void*) { return 0; }
int cuStreamSynchronize(void*) { return 0; }
int cuMemAlloc_v2(uint64_t* p, size_t bytes) { void* m = malloc(bytes); if (!m) return 2; memset(m, 0xff, bytes); *p = (uint64_t) m; return 0; }
int cuMemFree_v2(uint64_t p) { free((void*) p); return 0; }
int cuMemAllocHost_v2(void** p, size_t bytes) { *p = malloc(bytes); return *p ? 0 : 2; }
int cuMemFreeHost(void* p) { free(p); return 0; }
int cuMemGetInfo_v2(size_t* f, size_t* t) { *f = (size_t) 70 << 30; *t = (size_t) 80 << 30; return 0; }
int cuMemcpyHtoDAsync_v2(uint64_t dst, const void* src, size_t n, void*) { memcpy((void*) dst, src, n); return 0; }
int cuMemcpyDtoHAsync_v2(void* dst, uint64_t src, size_t n, void*) { memcpy(dst, (void*) src, n); return 0; }
int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, void*) { memmove((void*) dst, (void*) src, n); return 0; }
int cuMemsetD32Async(uint64_t dst, unsigned v, size_t n, void*) { for (size_t i = 0; i < n; i++) ((unsigned*) dst)[i] = v; return 0; }

// Images: a fatbin (magic 0xBA55ED50) or NUL-terminated PTX; functions are looked up in the emulator by name.
int cuModuleLoadData(void** module, const void* image) {
    const unsigned char* b = (const unsigned char*) image;
    bool fatbin = b[0] == 0x50 && b[1] == 0xED && b[2] == 0x55 && b[3] == 0xBA;
    bool ptx = strstr((const char*) image, ".target") != nullptr;
    if (!fatbin && !ptx) return INVALID_IMAGE;
    *module = dummy + 2;
    return 0;
}
int cuModuleUnload(void*) { return 0; }
int cuModuleGetFunction(void** f, void*, const char* name) {
    if (!emu_has_kernel(name)) return NOT_FOUND;
    *f = strdup(name);
    return 0;
}
int cuFuncSetAttribute(void*, int attribute, int value) { return attribute == 8 && value <= 227 * 1024 ? 0 : INVALID_VALUE; }

int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared,
                   void*, void** params, void** extra) {
    if (extra) return INVALID_VALUE;
    Launch l{(const char*) f, {gx, gy, gz}, {bx, by, bz}, shared, {}};
    int sizes[32];
    int n = emu_param_sizes(l.name.c_str(), sizes, 32);
    if (n < 0) return NOT_FOUND;
    for (int i = 0; i < n; i++) l.args.emplace_back((unsigned char*) params[i], (unsigned char*) params[i] + sizes[i]);
    if (capturing) {
        capturing->launches.push_back(l);
        return 0;
    }
    return run(l);
}

int cuStreamBeginCapture_v2(void*, int) { if (capturing) return INVALID_VALUE; capturing = new Graph(); return 0; }
int cuStreamEndCapture(void*, void** graph) { if (!capturing) return INVALID_VALUE; *graph = capturing; capturing = nullptr; return 0; }
int cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long) { *exec = graph; return 0; }
int cuGraphLaunch(void* exec, void*) {
    for (auto& l : ((Graph*) exec)->launches) if (run(l)) return LAUNCH_FAILED;
    return 0;
}
int cuGraphExecDestroy(void*) { return 0; }
int cuGraphDestroy(void* graph) { delete (Graph*) graph; return 0; }

int cuEventCreate(void** e, unsigned) { *e = new double(0); return 0; }
int cuEventRecord(void* e, void*) { timespec t; clock_gettime(CLOCK_MONOTONIC, &t); *(double*) e = t.tv_sec * 1e3 + t.tv_nsec / 1e6; return 0; }
int cuEventSynchronize(void*) { return 0; }
int cuEventElapsedTime_v2(float* ms, void* a, void* b) { *ms = (float) (*(double*) b - *(double*) a); return 0; }
int cuEventDestroy_v2(void* e) { delete (double*) e; return 0; }

// cuBLAS: column-major GemmEx with host-pointer alpha and beta.
int cublasCreate_v2(void** h) { *h = dummy + 3; return 0; }
int cublasDestroy_v2(void*) { return 0; }
int cublasSetStream_v2(void*, void*) { return 0; }
int cublasSetMathMode(void*, int) { return 0; }
const char* cublasGetStatusString(int) { return "CUBLAS_STATUS_EMULATED"; }
int cublasGemmEx(void*, int ta, int tb, int m, int n, int k, const float* alpha, const void* A, int at, int lda,
                 const void* B, int bt, int ldb, const float* beta, void* C, int ct, int ldc, int compute, int) {
    if (compute != 68) return 7;  // CUBLAS_STATUS_INVALID_VALUE
    return emu_gemm(ta, tb, m, n, k, *alpha, A, at, lda, B, bt, ldb, *beta, C, ct, ldc);
}
int cublasGemmStridedBatchedEx(void*, int ta, int tb, int m, int n, int k, const float* alpha, const void* A, int at,
                               int lda, long long sa, const void* B, int bt, int ldb, long long sb, const float* beta,
                               void* C, int ct, int ldc, long long sc, int batch, int compute, int) {
    if (compute != 68) return 7;
    auto bytes = [](int type) { return type == 0 ? 4 : 2; };
    for (int i = 0; i < batch; i++) {
        emu_gemm(ta, tb, m, n, k, *alpha, (const char*) A + i * sa * bytes(at), at, lda, (const char*) B + i * sb * bytes(bt),
                 bt, ldb, *beta, (char*) C + i * sc * bytes(ct), ct, ldc);
    }
    return 0;
}
}
