// Elementwise float kernels that C compilers vectorise well: exp and what is built on it. The
// engine splits work across threads and calls these on contiguous chunks. On CPUs with AVX2 and
// FMA a copy compiled for them runs (chosen once, at the first call); otherwise baseline x86-64.
#ifndef GOAL_VECTOR_MATH_H
#define GOAL_VECTOR_MATH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// y[i] = e^x[i]. Within 3 ulp of the true value over the normal range; overflow gives +inf,
// NaN stays NaN, tiny results round into subnormals and 0.
void goal_vexp(const float *x, float *y, size_t n);
// y[i] = 1 / (1 + e^-x[i]).
void goal_vsigmoid(const float *x, float *y, size_t n);
// y[i] = x[i] / (1 + e^(-1.702 x[i])): QuickGELU, as OpenAI's CLIP defines it.
void goal_vquick_gelu(const float *x, float *y, size_t n);
// p[i] = e^(p[i] - shift) in place; returns the sum of the results (accumulated in double).
float goal_vexp_shift_sum(float *p, size_t n, float shift);

#ifdef __cplusplus
}
#endif

#endif
