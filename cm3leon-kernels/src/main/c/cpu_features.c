// Which body of each kernel runs: AVX-512 (F, BW, VL, DQ) where present, else AVX2 with FMA and F16C, else none
// (the Java kernels serve). CM3LEON_CPU_LEVEL=avx2 caps it, so a test can run the AVX2 bodies on an AVX-512 CPU.
#include "cpu_kernels.h"

#include <stdlib.h>
#include <string.h>

static int32_t detect(void) {
    __builtin_cpu_init();
    int32_t level = CM3_LEVEL_NONE;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        level = CM3_LEVEL_AVX2;
    }
    if (level == CM3_LEVEL_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
        level = CM3_LEVEL_AVX512;
    }
    const char *cap = getenv("CM3LEON_CPU_LEVEL");
    if (cap != NULL) {
        if (strcmp(cap, "avx2") == 0 && level > CM3_LEVEL_AVX2) level = CM3_LEVEL_AVX2;
        if (strcmp(cap, "none") == 0) level = CM3_LEVEL_NONE;
    }
    return level;
}

CM3_EXPORT int32_t cm3_cpu_level(void) {
    static int32_t level = -1;
    if (level < 0) level = detect();
    return level;
}
