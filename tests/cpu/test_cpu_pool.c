/* test_cpu_pool.c - the thread pool of runtime/tsl_pool.c on its own:
 * create/destroy cycles, many tiny regions (every item run exactly once, by
 * a thread below the part limit), regions after the workers went to sleep
 * (the condition-variable path), part limits, and the NULL pool.
 * Under ASan the test also shows the pool leaks nothing and joins cleanly. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tsl_rt.h"

#define MAX_ITEMS 4096

struct frame {
    int64_t n_items;
    int region;                 /* region number, written into each item */
    int stamp[MAX_ITEMS];       /* last region that ran the item */
    int count[MAX_ITEMS];       /* how many times it ran */
    int64_t tid_of[MAX_ITEMS];  /* thread that ran it */
    int bad;                    /* a range outside [0, n_items) */
};

static void task(void *vf, int64_t begin, int64_t end, int64_t tid)
{
    struct frame *f = vf;
    if (begin < 0 || end > f->n_items || begin >= end) {
        f->bad = 1; /* written by at most one thread in a failing run */
        return;
    }
    for (int64_t i = begin; i < end; i++) {
        f->stamp[i] = f->region;
        f->count[i]++;
        f->tid_of[i] = tid;
    }
}

/* Run one region and check every item ran once, by a thread below
 * min(pool threads, max_parts). */
static void region(struct tsl_rt_pool *p, struct frame *f, int64_t n, int64_t max_parts)
{
    f->n_items = n;
    f->region++;
    memset(f->count, 0, sizeof f->count);
    tsl_rt_parallel(p, task, f, n, max_parts);
    assert_int_equal(f->bad, 0);
    int64_t parts = tsl_rt_pool_threads(p);
    if (max_parts < parts)
        parts = max_parts;
    for (int64_t i = 0; i < n; i++) {
        assert_int_equal(f->count[i], 1);
        assert_int_equal(f->stamp[i], f->region);
        assert_true(f->tid_of[i] >= 0 && f->tid_of[i] < parts);
    }
}

static void test_create_destroy(void **state)
{
    (void)state;
    for (int rep = 0; rep < 50; rep++)
        for (int t = 0; t <= 4; t++) {
            struct tsl_rt_pool *p = tsl_rt_pool_create(t);
            assert_non_null(p);
            assert_int_equal(tsl_rt_pool_threads(p), t < 1 ? 1 : t);
            tsl_rt_pool_destroy(p);
        }
    tsl_rt_pool_destroy(NULL);
    assert_int_equal(tsl_rt_pool_threads(NULL), 1);
}

static void test_many_tiny_regions(void **state)
{
    (void)state;
    struct frame *f = calloc(1, sizeof *f);
    assert_non_null(f);
    for (int t = 1; t <= 3; t++) {
        struct tsl_rt_pool *p = tsl_rt_pool_create(t);
        assert_non_null(p);
        for (int r = 0; r < 20000; r++)
            region(p, f, 1 + r % 7, 64); /* fewer items than threads, too */
        for (int r = 0; r < 200; r++)
            region(p, f, MAX_ITEMS - r, 64);
        tsl_rt_pool_destroy(p);
    }
    free(f);
}

static void test_after_sleep(void **state)
{
    (void)state;
    struct frame *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct tsl_rt_pool *p = tsl_rt_pool_create(3);
    assert_non_null(p);
    struct timespec ts = {0, 3 * 1000 * 1000}; /* long enough for the workers to block */
    for (int r = 0; r < 20; r++) {
        nanosleep(&ts, NULL);
        region(p, f, 100 + r, 64);
    }
    tsl_rt_pool_destroy(p);
    /* destroy while the workers are blocked */
    p = tsl_rt_pool_create(4);
    assert_non_null(p);
    nanosleep(&ts, NULL);
    tsl_rt_pool_destroy(p);
    free(f);
}

static void test_part_limits(void **state)
{
    (void)state;
    struct frame *f = calloc(1, sizeof *f);
    assert_non_null(f);
    struct tsl_rt_pool *p = tsl_rt_pool_create(4);
    assert_non_null(p);
    region(p, f, 1000, 1); /* compiled for one thread: all on the caller */
    for (int64_t i = 0; i < 1000; i++)
        assert_int_equal(f->tid_of[i], 0);
    region(p, f, 1000, 2); /* threads 2 and 3 stay out (region() checks tid < 2) */
    region(p, f, 1000, 64);
    f->n_items = 0;
    tsl_rt_parallel(p, task, f, 0, 4); /* no items: nothing runs */
    assert_int_equal(f->bad, 0);
    tsl_rt_pool_destroy(p);
    region(NULL, f, 500, 8); /* NULL pool: inline on the caller */
    for (int64_t i = 0; i < 500; i++)
        assert_int_equal(f->tid_of[i], 0);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_destroy),
        cmocka_unit_test(test_many_tiny_regions),
        cmocka_unit_test(test_after_sleep),
        cmocka_unit_test(test_part_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
