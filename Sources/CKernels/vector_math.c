#include "vector_math.h"
#include "cpu_features.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// e^x: Cody–Waite reduction by ln 2 and Cephes' degree-6 expf polynomial. Rounding to the
// nearest integer uses the 1.5 * 2^23 trick, which needs no rounding instruction (baseline
// x86-64 has none), and leaves n in the float's low mantissa bits.
static inline __attribute__((always_inline)) float exp_one(float x) {
    const float magic = 12582912.0f; // 1.5 * 2^23; its bits are 0x4B400000
    float c = x < -104.0f ? -104.0f : (x > 88.7228390f ? 88.7228390f : x);
    float t = c * 1.44269504088896341f + magic;
    float n = t - magic;
    int32_t ni;
    memcpy(&ni, &t, sizeof ni);
    ni -= 0x4B400000;
    float r = c - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    // 2^n in two halves, so that n from -150 to 128 never leaves the exponent's range and the
    // product rounds into subnormals or infinity the way the true value would.
    int32_t n1 = ni >> 1, n2 = ni - n1;
    int32_t bits1 = (n1 + 127) << 23, bits2 = (n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &bits1, sizeof s1);
    memcpy(&s2, &bits2, sizeof s2);
    float y = p * s1 * s2;
    y = x > 88.7228390f ? INFINITY : y;
    return x != x ? x : y;
}

// Each kernel twice: for AVX2 + FMA and for baseline x86-64; the loop body is the same.
#define KERNEL(name, expression)                                                           \
    __attribute__((target("avx2,fma"))) static void name##_avx2(const float *x, float *y,  \
                                                                 size_t n) {               \
        for (size_t i = 0; i < n; i++) { float v = x[i]; y[i] = (expression); }           \
    }                                                                                      \
    static void name##_base(const float *x, float *y, size_t n) {                          \
        for (size_t i = 0; i < n; i++) { float v = x[i]; y[i] = (expression); }           \
    }                                                                                      \
    void goal_##name(const float *x, float *y, size_t n) {                                 \
        if (has_avx2_fma()) name##_avx2(x, y, n); else name##_base(x, y, n);               \
    }

KERNEL(vexp, exp_one(v))
KERNEL(vsigmoid, 1.0f / (1.0f + exp_one(-v)))
KERNEL(vquick_gelu, v / (1.0f + exp_one(-1.702f * v)))

float goal_vexp_shift_sum(float *p, size_t n, float shift) {
    // Shift in place, exponentiate in place, then sum in double.
    for (size_t i = 0; i < n; i++) p[i] -= shift;
    goal_vexp(p, p, n);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += p[i];
    return (float)sum;
}
