/* tsl_rt.h - tessel's own declarations of the thread pool in tsl_pool.c and
 * the data-dependent selections in tsl_select.c, compiled into tessel with
 * the prefix `tsl_rt` (the JIT's generated code calls tsl_rt_parallel,
 * tsl_rt_nonzero and tsl_rt_nms; the JIT creates and destroys the pool).  Artifacts
 * written by `tessel compile` carry their own copy of tsl_pool.c under the
 * model's prefix and declare it in their generated header instead.
 *
 * Nothing else here: the pool's behaviour is documented in tsl_pool.c and
 * docs/cpu-backend.md. */
#ifndef TSL_RT_H
#define TSL_RT_H

#include <stdint.h>

/* A region's body: items [begin, end) on thread tid (0 = the caller). */
typedef void (*tsl_rt_task)(void *frame, int64_t begin, int64_t end, int64_t tid);

struct tsl_rt_pool;

/* A pool of `threads` threads in total (the caller included: threads - 1
 * workers are started).  threads < 1 counts as 1.  NULL when memory or a
 * thread could not be obtained.  The caller owns it. */
struct tsl_rt_pool *tsl_rt_pool_create(int threads);
/* Stops and joins the workers, frees the pool.  NULL is fine.  Must not run
 * concurrently with tsl_rt_parallel on the same pool. */
void tsl_rt_pool_destroy(struct tsl_rt_pool *p);
/* Threads in the pool (1 for NULL). */
int tsl_rt_pool_threads(const struct tsl_rt_pool *p);
/* Run fn over items [0, n_items) cut into contiguous chunks that threads
 * 0 .. min(threads, max_parts) - 1 take in turn (tid < max_parts always),
 * and return when all are done.  p NULL (or one part) runs
 * fn(frame, 0, n_items, 0) on the caller. */
void tsl_rt_parallel(struct tsl_rt_pool *p, tsl_rt_task fn, void *frame, int64_t n_items,
                     int64_t max_parts);

/* NonZero of a dense tensor of `rank` dims: writes y as [rank, nnz] (row d
 * holds coordinate d of each non-zero element, in row-major order) and
 * returns nnz.  kind: 0 f32, 1 f64, 2 f16, 3 bf16 (+-0 are zero, NaN is
 * not), 4 any other element of es bytes (non-zero when a byte is). */
int64_t tsl_rt_nonzero(const void *x, int64_t kind, int64_t es, const int64_t *dims,
                       int64_t rank, int64_t *y);
/* ONNX NonMaxSuppression over boxes [B, N, 4] and scores [B, C, N]: writes
 * the selected (batch, class, box) triples to sel (room for B * C *
 * min(max_out, N) of them) and returns their count.  flags: 1 score
 * threshold given, 2 center_point_box.  work: N * 56 bytes, 8-aligned. */
int64_t tsl_rt_nms(const float *boxes, const float *scores, int64_t B, int64_t N, int64_t C,
                   int64_t max_out, double iou_th, double score_th, int64_t flags, void *work,
                   int64_t *sel);

#endif
