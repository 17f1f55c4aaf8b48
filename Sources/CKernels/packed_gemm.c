#include "packed_gemm.h"
#include "cpu_features.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// Blocking. A tile is MR rows of C by one panel (NR = GOAL_PANEL columns): with AVX2 its 6×16
// sums fill 12 of the 16 vector registers, leaving room for two panel rows and one broadcast
// element of A. The product walks K in slices of KC, so that the KC×NR part of a panel (16 KiB)
// stays in the L1 cache while every row tile of an MC-row block of A (MC×KC floats, 240 KiB at
// most, within L2) passes over it. A is read where it lies, not copied into tiles first: a
// copy would be made again by every call over a few panels, and threads take a product a few
// panels at a time (see PackedMatrix.swift). (Measured on a 2-core AMD EPYC with AVX2: 6×16 tiles with
// these sizes reach about 85 of the 94 GFLOP/s OpenBLAS's best large product reaches on one core,
// for the shapes of a CLIP tower at batch 1.)
enum { NR = GOAL_PANEL, MR = GOAL_TILE_ROWS, KC = 256, MC = 240 };

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

size_t goal_packed_floats(size_t k, size_t n) { return (n + NR - 1) / NR * NR * k; }

// The packed form cuts K into slices of KC rows; each slice holds every panel's rows of that
// slice, panel after panel, so that a product, which walks slice by slice and panel by panel,
// reads the packed matrix from front to back. Both loops below walk it in that order.

void goal_pack(const float *b, size_t k, size_t n, size_t ldb, int transposed, float *packed) {
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = min_size(KC, k - k0);
        for (size_t j0 = 0; j0 < n; j0 += NR) {
            size_t width = min_size(NR, n - j0);
            for (size_t p = k0; p < k0 + kc; p++, packed += NR) {
                if (transposed)
                    for (size_t j = 0; j < width; j++) packed[j] = b[(j0 + j) * ldb + p];
                else
                    memcpy(packed, b + p * ldb + j0, width * sizeof(float));
                for (size_t j = width; j < NR; j++) packed[j] = 0.0f;
            }
        }
    }
}

void goal_unpack(const float *packed, size_t k, size_t n, float *b) {
    for (size_t k0 = 0; k0 < k; k0 += KC) {
        size_t kc = min_size(KC, k - k0);
        for (size_t j0 = 0; j0 < n; j0 += NR)
            for (size_t p = k0; p < k0 + kc; p++, packed += NR)
                memcpy(b + p * n + j0, packed, min_size(NR, n - j0) * sizeof(float));
    }
}

// What every tile computes, over one K slice:
//   C[r][j] = (in ? in[r·ld_in + j] : 0) + Σ_p A[r][p]·P[p][j] + (bias ? bias[j] : 0)
// for r < mr and j < nc, where P is the slice of the panel and A the tile's rows of the slice,
// A[r][p] at a[r·lda + p].
// The tile also asks for `ahead` cache lines, `ahead_stride` floats apart from `next` on, to be
// brought into L2: the tiles over one panel slice share out the next slice among them, because the
// first tile over a slice would otherwise wait on memory for all of it.
typedef void (*tile_fn)(int mr, size_t kc, const float *a, size_t lda, const float *panel, float *c, size_t ldc,
                        size_t nc, const float *in, size_t ld_in, const float *bias, const float *next, size_t ahead,
                        size_t ahead_stride);

static void tile_baseline(int mr, size_t kc, const float *a, size_t lda, const float *panel, float *c, size_t ldc,
                          size_t nc, const float *in, size_t ld_in, const float *bias, const float *next, size_t ahead,
                          size_t ahead_stride) {
    (void)next, (void)ahead, (void)ahead_stride;
    float sum[MR][NR];
    memset(sum, 0, sizeof sum);
    for (size_t p = 0; p < kc; p++) {
        const float *row = panel + p * NR;
        for (int r = 0; r < mr; r++) {
            float x = a[r * lda + p];
            for (int j = 0; j < NR; j++) sum[r][j] += x * row[j];
        }
    }
    for (int r = 0; r < mr; r++) {
        float *out = c + r * ldc;
        const float *add = in ? in + r * ld_in : NULL;
        for (size_t j = 0; j < nc; j++)
            out[j] = (add ? add[j] : 0.0f) + sum[r][j] + (bias ? bias[j] : 0.0f);
    }
}

#if defined(__x86_64__) || defined(__i386__)

// One tile with AVX2 and FMA. Written out row by row, with `mr` a constant wherever this is
// inlined, so that the sums are plain variables that live in registers: compilers do not
// reliably keep an array of vectors in registers, and a spilled sum costs the kernel half its speed.
#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

__attribute__((target("avx2,fma"), always_inline)) static inline void
tile_avx2_rows(const int mr, size_t kc, const float *a, size_t lda, const float *panel, float *c, size_t ldc, size_t nc,
               const float *in, size_t ld_in, const float *bias, const float *next, size_t ahead,
               size_t ahead_stride) {
#define DECLARE(r) __m256 lo##r = _mm256_setzero_ps(), hi##r = _mm256_setzero_ps();
    ROWS(DECLARE)
#undef DECLARE
    for (size_t p = 0; p < kc; p++) {
        if (p < ahead) _mm_prefetch((const char *)(next + p * ahead_stride), _MM_HINT_T1);
        __m256 b0 = _mm256_loadu_ps(panel), b1 = _mm256_loadu_ps(panel + 8);
        panel += NR;
#define STEP(r)                                              \
        if (r < mr) {                                        \
            __m256 x = _mm256_broadcast_ss(a + r * lda + p);  \
            lo##r = _mm256_fmadd_ps(x, b0, lo##r);           \
            hi##r = _mm256_fmadd_ps(x, b1, hi##r);           \
        }
        ROWS(STEP)
#undef STEP
    }
    if (nc == NR) {
        __m256 bias_lo = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
        __m256 bias_hi = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#define STORE(r)                                                                      \
        if (r < mr) {                                                                 \
            float *out = c + r * ldc;                                                 \
            __m256 y0 = _mm256_add_ps(lo##r, bias_lo), y1 = _mm256_add_ps(hi##r, bias_hi); \
            if (in) {                                                                 \
                y0 = _mm256_add_ps(_mm256_loadu_ps(in + r * ld_in), y0);              \
                y1 = _mm256_add_ps(_mm256_loadu_ps(in + r * ld_in + 8), y1);          \
            }                                                                         \
            _mm256_storeu_ps(out, y0);                                                \
            _mm256_storeu_ps(out + 8, y1);                                            \
        }
        ROWS(STORE)
#undef STORE
        return;
    }
    // The last panel of a matrix whose width is not a multiple of NR.
    float row[NR];
#define STORE_PART(r)                                                                               \
    if (r < mr) {                                                                                   \
        float *out = c + r * ldc;                                                                   \
        _mm256_storeu_ps(row, lo##r);                                                               \
        _mm256_storeu_ps(row + 8, hi##r);                                                           \
        for (size_t j = 0; j < nc; j++) out[j] = (in ? in[r * ld_in + j] : 0.0f) + (row[j] + (bias ? bias[j] : 0.0f)); \
    }
    ROWS(STORE_PART)
#undef STORE_PART
}
#undef ROWS

__attribute__((target("avx2,fma"))) static void tile_avx2(int mr, size_t kc, const float *a, size_t lda, const float *panel,
                                                          float *c, size_t ldc, size_t nc, const float *in,
                                                          size_t ld_in, const float *bias, const float *next, size_t ahead,
                                                          size_t ahead_stride) {
    switch (mr) {
    case 6: tile_avx2_rows(6, kc, a, lda, panel, c, ldc, nc, in, ld_in, bias, next, ahead, ahead_stride); break;
    case 5: tile_avx2_rows(5, kc, a, lda, panel, c, ldc, nc, in, ld_in, bias, next, ahead, ahead_stride); break;
    case 4: tile_avx2_rows(4, kc, a, lda, panel, c, ldc, nc, in, ld_in, bias, next, ahead, ahead_stride); break;
    case 3: tile_avx2_rows(3, kc, a, lda, panel, c, ldc, nc, in, ld_in, bias, next, ahead, ahead_stride); break;
    case 2: tile_avx2_rows(2, kc, a, lda, panel, c, ldc, nc, in, ld_in, bias, next, ahead, ahead_stride); break;
    default: tile_avx2_rows(1, kc, a, lda, panel, c, ldc, nc, in, ld_in, bias, next, ahead, ahead_stride); break;
    }
}

#endif

// Rows for the next tile when `left` rows of a block remain. Full tiles but for the last are
// fastest, except that a tile of 1 to 3 rows runs its few sums into the latency of FMA (each sum
// waits for its previous step) and takes as long as one of 4 to 6 rows; so a remainder of 1 to 3
// is spread over the last tiles instead (8 = 4 + 4, 9 = 5 + 4, 13 = 5 + 4 + 4), which at 50
// rows, a ViT-B/32 image, saves a twentieth of the product.
static size_t tile_rows(size_t left) {
    switch (left) {
    case 7: case 8: return 4;  // 4 + 3, 4 + 4
    case 9: case 13: return 5;  // 5 + 4, 5 + 4 + 4
    default: return min_size(MR, left);
    }
}

static void packed_gemm(tile_fn tile, size_t m, size_t n, size_t k, const float *a, size_t lda,
                        const float *packed, const float *bias, const float *addend, size_t ld_addend,
                        float *c, size_t ldc, size_t first_panel, size_t end_panel) {
    size_t first = first_panel * NR, end = min_size(end_panel * NR, n);
    if (k == 0) {
        for (size_t i = 0; i < m; i++)
            for (size_t j = first; j < end; j++)
                c[i * ldc + j] = (addend ? addend[i * ld_addend + j] : 0.0f) + (bias ? bias[j] : 0.0f);
        return;
    }
    size_t width = (n + NR - 1) / NR * NR;
    for (size_t m0 = 0; m0 < m; m0 += MC) {
        size_t m1 = min_size(m, m0 + MC), tiles = 0;
        for (size_t i = m0; i < m1; i += tile_rows(m1 - i)) tiles++;
        for (size_t k0 = 0; k0 < k; k0 += KC) {
            size_t kc = min_size(KC, k - k0);
            // The first slice starts C (from zero or what it holds) and adds the bias once.
            const float *in = k0 > 0 ? c : addend;
            size_t ld_in = k0 > 0 ? ldc : ld_addend;
            for (size_t j0 = first; j0 < end; j0 += NR) {
                const float *panel = packed + k0 * width + j0 * kc;
                const float *panel_bias = bias && k0 == 0 ? bias + j0 : NULL;
                size_t nc = min_size(NR, n - j0);
                // The slice after this one: the next panel, or this thread's first panel of the
                // next K slice. With many tiles, tile t of T asks for its lines t, t + T, ...,
                // so that requests do not pile up; with few, the first tile asks for them all, so
                // that they arrive in time (both measured best, over a model's cold weights).
                const float *next = NULL;
                size_t spread = tiles < 6 ? 1 : tiles, next_lines = 0;
                if (j0 + NR < end) next = panel + kc * NR, next_lines = kc;
                else if (k0 + KC < k) {
                    next_lines = min_size(KC, k - k0 - KC);
                    next = packed + (k0 + KC) * width + first * next_lines;
                }
                for (size_t i = m0, t = 0, rows; i < m1; i += rows, t++) {
                    rows = tile_rows(m1 - i);
                    size_t ahead = next_lines > t ? (next_lines - t + spread - 1) / spread : 0;
                    tile((int)rows, kc, a + i * lda + k0, lda, panel, c + i * ldc + j0, ldc, nc,
                         in ? in + i * ld_in + j0 : NULL, ld_in, panel_bias, next ? next + t * NR : NULL,
                         ahead, spread * NR);
                }
            }
        }
    }
}

void goal_packed_gemm(size_t m, size_t n, size_t k, const float *a, size_t lda, const float *packed,
                      const float *bias, const float *addend, size_t ld_addend, float *c, size_t ldc,
                      size_t first_panel, size_t end_panel) {
#if defined(__x86_64__) || defined(__i386__)
    tile_fn tile = has_avx2_fma() ? tile_avx2 : tile_baseline;
#else
    tile_fn tile = tile_baseline;
#endif
    packed_gemm(tile, m, n, k, a, lda, packed, bias, addend, ld_addend, c, ldc, first_panel, end_panel);
}

void goal_packed_gemm_baseline(size_t m, size_t n, size_t k, const float *a, size_t lda,
                               const float *packed, const float *bias, const float *addend,
                               size_t ld_addend, float *c, size_t ldc, size_t first_panel,
                               size_t end_panel) {
    packed_gemm(tile_baseline, m, n, k, a, lda, packed, bias, addend, ld_addend, c, ldc, first_panel, end_panel);
}
