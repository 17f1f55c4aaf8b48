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
enum { GOAL_BINARY_ADD = 0, GOAL_BINARY_SUB = 1, GOAL_BINARY_MUL = 2, GOAL_BINARY_DIV = 3 };
// y[i] = a[i·a_stride] op b[i·b_stride] for i < n, op one of GOAL_BINARY_*; each stride is 1 (a
// run of n values) or 0 (one value for all).
void goal_vbinary(int op, const float *a, size_t a_stride, const float *b, size_t b_stride, float *y, size_t n);
// Softmax of a contiguous row of n > 0 values: y[i] = e^(x[i] - max) / Σ e^(x[j] - max).
// Returns the row's maximum (NaN if the row holds one); y is written only when it is finite.
float goal_softmax_row(const float *x, float *y, size_t n);
// Layer normalisation of a row of n > 0 values: y[i] = (x[i] - mean) · inv_std · gamma[i] +
// beta[i] (beta may be NULL), with inv_std = 1 / sqrt(variance + epsilon); stores the mean and
// inv_std.
void goal_layer_norm_row(const float *x, float *y, size_t n, const float *gamma, const float *beta,
                         float epsilon, float *mean, float *inv_std);

#ifdef __cplusplus
}
#endif

#endif
