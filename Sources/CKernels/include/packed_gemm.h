// Matrix products against a constant right-hand matrix that is rearranged ("packed") once, when
// a model is opened, instead of on every call as a general BLAS must. The packed form is a row of
// panels, each GOAL_PANEL columns wide and K rows deep, stored row after row (the last panel
// padded with zeros), so the product streams each panel front to back.
#ifndef GOAL_PACKED_GEMM_H
#define GOAL_PACKED_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOAL_PANEL 16
// Rows of C one step of the kernel computes: splits of the rows between threads are best made
// in multiples of it.
#define GOAL_TILE_ROWS 6

// Floats the packed form of a K×N matrix takes.
size_t goal_packed_floats(size_t k, size_t n);

// Packs B, a K×N matrix in row-major order with row stride ldb; or, when `transposed` is 1, B
// given as its N×K transpose with row stride ldb (Gemm's transB).
void goal_pack(const float *b, size_t k, size_t n, size_t ldb, int transposed, float *packed);

// The inverse of goal_pack: the K×N matrix in row-major order (row stride n).
void goal_unpack(const float *packed, size_t k, size_t n, float *b);

// C[m×n] = A[m×k] · B + bias + addend, for the panels first_panel ..< end_panel only (columns
// first_panel·GOAL_PANEL up to n), so that threads can share one product. A is row-major with
// row stride lda, C with row stride ldc; bias (n floats) may be NULL; addend (m×n, row stride
// ld_addend) may be NULL, or C itself to add the product to what C holds. A residual connection
// (y = x + f(x) · W + b) passes x as the addend and costs no pass of its own. Takes no memory.
void goal_packed_gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                      const float *bias, const float *addend, size_t ld_addend, float *c, size_t ldc,
                      size_t first_panel, size_t end_panel);

// The same product through the baseline x86-64 code that CPUs without AVX2 and FMA run, for
// tests on machines that have them.
void goal_packed_gemm_baseline(size_t m, size_t n, size_t k, const float *a, size_t lda,
                               const float *packed, const float *bias, const float *addend,
                               size_t ld_addend, float *c, size_t ldc, size_t first_panel,
                               size_t end_panel);

#ifdef __cplusplus
}
#endif

#endif
