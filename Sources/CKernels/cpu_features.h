// Which instruction-set copy of a kernel this CPU runs. Internal to CKernels.
#ifndef GOAL_CPU_FEATURES_H
#define GOAL_CPU_FEATURES_H

#include <stdatomic.h>

// 1 when the CPU has AVX2 and FMA, else 0; found once.
static inline int has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    // Atomic: kernels run on many threads at once, and the first calls race to fill it in
    // (ThreadSanitizer reported the plain int). Every thread computes the same value.
    static _Atomic int known = -1;
    int value = atomic_load_explicit(&known, memory_order_relaxed);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        atomic_store_explicit(&known, value, memory_order_relaxed);
    }
    return value;
#else
    return 0;
#endif
}

#endif
