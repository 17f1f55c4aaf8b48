#include "vector_math.h"
#include "cpu_features.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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

// Softmax of one row, for rows whose maximum is finite: y = e^(x - max) / sum. The sum is kept
// in float: its terms are in (0, 1] with at least one 1, so it loses at most n ulp, against
// the several ulp each exponential already carries.

static float row_maximum_base(const float *x, size_t n) {
    float m = x[0];
    for (size_t i = 1; i < n; i++) {
        if (x[i] != x[i]) return x[i];
        m = x[i] > m ? x[i] : m;
    }
    return m;
}

static void softmax_row_base(const float *x, float *y, size_t n, float m) {
    float sum = 0;
    for (size_t i = 0; i < n; i++) { y[i] = exp_one(x[i] - m); sum += y[i]; }
    float scale = 1.0f / sum;
    for (size_t i = 0; i < n; i++) y[i] *= scale;
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static float row_maximum_avx2(const float *x, size_t n) {
    if (n < 8) return row_maximum_base(x, n);
    __m256 m = _mm256_loadu_ps(x), unordered = _mm256_setzero_ps();
    size_t i = 8;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        m = _mm256_max_ps(m, v);
    }
    unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(m, m, _CMP_UNORD_Q));
    if (_mm256_movemask_ps(unordered)) return NAN;
    float lanes[8];
    _mm256_storeu_ps(lanes, m);
    float best = row_maximum_base(lanes, 8);
    for (; i < n; i++) {
        if (x[i] != x[i]) return x[i];
        best = x[i] > best ? x[i] : best;
    }
    return best;
}

__attribute__((target("avx2,fma"))) static void softmax_row_avx2(const float *x, float *y, size_t n, float m) {
    for (size_t i = 0; i < n; i++) y[i] = exp_one(x[i] - m);
    __m256 acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(y + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    float sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
    for (; i < n; i++) sum += y[i];
    float scale = 1.0f / sum;
    for (i = 0; i < n; i++) y[i] *= scale;
}
#endif

float goal_softmax_row(const float *x, float *y, size_t n) {
    if (n == 0) return 0.0f;
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx2_fma()) {
        float m = row_maximum_avx2(x, n);
        if (isfinite(m)) softmax_row_avx2(x, y, n, m);
        return m;
    }
#endif
    float m = row_maximum_base(x, n);
    if (isfinite(m)) softmax_row_base(x, y, n, m);
    return m;
}

// Layer normalisation of one row, in two passes (mean, then the spread around it), so that rows
// far from zero keep their variance. With AVX2 the sums run in float over 16 lanes at once, and
// the lanes are added in double.
static void layer_norm_finish(const float *x, float *y, size_t n, const float *gamma, const float *beta,
                              float mu, float inv) {
    if (beta)
        for (size_t i = 0; i < n; i++) y[i] = (x[i] - mu) * inv * gamma[i] + beta[i];
    else
        for (size_t i = 0; i < n; i++) y[i] = (x[i] - mu) * inv * gamma[i];
}

static void layer_norm_row_base(const float *x, float *y, size_t n, const float *gamma, const float *beta,
                                float epsilon, float *mean, float *inv_std) {
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += x[i];
    double mu = sum / (double)n, sq = 0;
    for (size_t i = 0; i < n; i++) { double d = x[i] - mu; sq += d * d; }
    *mean = (float)mu;
    *inv_std = (float)(1.0 / sqrt(sq / (double)n + epsilon));
    layer_norm_finish(x, y, n, gamma, beta, *mean, *inv_std);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static double lanes_sum(__m256 a, __m256 b) {
    float lanes[16];
    _mm256_storeu_ps(lanes, a);
    _mm256_storeu_ps(lanes + 8, b);
    double total = 0;
    for (int i = 0; i < 16; i++) total += lanes[i];
    return total;
}

__attribute__((target("avx2,fma"))) static void layer_norm_row_avx2(const float *x, float *y, size_t n,
                                                                    const float *gamma, const float *beta,
                                                                    float epsilon, float *mean, float *inv_std) {
    // The first pass sums x - x[0], not x: values far from zero (300 ± 1, say) would otherwise
    // lose their low bits in float partial sums many times their size.
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), origin = _mm256_set1_ps(x[0]);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_add_ps(s0, _mm256_sub_ps(_mm256_loadu_ps(x + i), origin));
        s1 = _mm256_add_ps(s1, _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), origin));
    }
    double sum = lanes_sum(s0, s1);
    for (; i < n; i++) sum += (double)x[i] - x[0];
    double mu = x[0] + sum / (double)n;
    __m256 m = _mm256_set1_ps((float)mu);
    s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), m), d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), m);
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    double sq = lanes_sum(s0, s1);
    for (; i < n; i++) { double d = x[i] - (float)mu; sq += d * d; }
    *mean = (float)mu;
    *inv_std = (float)(1.0 / sqrt(sq / (double)n + epsilon));
    layer_norm_finish(x, y, n, gamma, beta, *mean, *inv_std);
}
#endif

void goal_layer_norm_row(const float *x, float *y, size_t n, const float *gamma, const float *beta,
                         float epsilon, float *mean, float *inv_std) {
#if defined(__x86_64__) || defined(__i386__)
    if (has_avx2_fma()) { layer_norm_row_avx2(x, y, n, gamma, beta, epsilon, mean, inv_std); return; }
#endif
    layer_norm_row_base(x, y, n, gamma, beta, epsilon, mean, inv_std);
}

// y = a op b over n elements, a and b each either a run of n values (stride 1) or one value
// repeated (stride 0). One loop per case, so that each is a plain loop the compiler vectorises.
#define BINARY_LOOPS(OP)                                                                     \
    if (sa && sb) for (size_t i = 0; i < n; i++) y[i] = a[i] OP b[i];                        \
    else if (sa) { float v = b[0]; for (size_t i = 0; i < n; i++) y[i] = a[i] OP v; }         \
    else if (sb) { float v = a[0]; for (size_t i = 0; i < n; i++) y[i] = v OP b[i]; }         \
    else { float v = a[0] OP b[0]; for (size_t i = 0; i < n; i++) y[i] = v; }

#define BINARY_KERNEL(suffix, attributes)                                                    \
    attributes static void binary_##suffix(int op, const float *a, int sa, const float *b,   \
                                           int sb, float *y, size_t n) {                     \
        switch (op) {                                                                        \
        case GOAL_BINARY_ADD: BINARY_LOOPS(+) break;                                         \
        case GOAL_BINARY_SUB: BINARY_LOOPS(-) break;                                         \
        case GOAL_BINARY_MUL: BINARY_LOOPS(*) break;                                         \
        default: BINARY_LOOPS(/) break;                                                      \
        }                                                                                    \
    }

BINARY_KERNEL(avx2, __attribute__((target("avx2,fma"))))
BINARY_KERNEL(base, )

void goal_vbinary(int op, const float *a, size_t a_stride, const float *b, size_t b_stride, float *y, size_t n) {
    int sa = a_stride != 0, sb = b_stride != 0;
    if (has_avx2_fma()) binary_avx2(op, a, sa, b, sb, y, n); else binary_base(op, a, sa, b, sb, y, n);
}
