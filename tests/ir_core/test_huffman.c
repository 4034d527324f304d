/* test_huffman.c - the canonical Huffman coder of codebook indices
 * (ir/huffman.c): lengths are optimal on small cases checked by hand and
 * within one bit of the entropy on random ones, the length limit holds on a
 * Fibonacci distribution (whose unlimited code is 40+ bits deep), the codes
 * are prefix-free and complete, a random stream decodes back exactly, and
 * invalid tables and streams are rejected. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tessel/huffman.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static double kraft(const uint8_t *len, uint32_t n)
{
    double k = 0;
    for (uint32_t s = 0; s < n; s++)
        if (len[s])
            k += ldexp(1.0, -len[s]);
    return k;
}

static void test_small_cases(void **st)
{
    (void)st;
    uint8_t len[8];
    /* counts 1,1,2,4: lengths 3,3,2,1 (sum 1*3+1*3+2*2+4*1 = 14) */
    uint64_t c1[4] = {1, 1, 2, 4};
    assert_int_equal(tsl_huff_lengths(c1, 4, len), 14);
    assert_int_equal(len[0], 3);
    assert_int_equal(len[1], 3);
    assert_int_equal(len[2], 2);
    assert_int_equal(len[3], 1);
    /* equal counts over 4 symbols: 2 bits each; an unused symbol gets 0 */
    uint64_t c2[5] = {5, 0, 5, 5, 5};
    assert_int_equal(tsl_huff_lengths(c2, 5, len), 40);
    assert_int_equal(len[1], 0);
    assert_int_equal(len[0], 2);
    /* one used symbol: length 1, a valid (incomplete) code */
    uint64_t c3[3] = {0, 7, 0};
    assert_int_equal(tsl_huff_lengths(c3, 3, len), 7);
    assert_int_equal(len[1], 1);
    uint32_t code[3];
    assert_true(tsl_huff_codes(len, 3, code));
    /* nothing used */
    uint64_t c4[2] = {0, 0};
    assert_int_equal(tsl_huff_lengths(c4, 2, len), 0);
    assert_false(tsl_huff_codes(len, 2, code));
}

static void test_near_entropy(void **st)
{
    (void)st;
    for (int round = 0; round < 50; round++) {
        uint32_t n = 2 + next_u32() % 255;
        uint64_t counts[TSL_HUFF_MAX_SYMS] = {0}, total = 0;
        for (uint32_t s = 0; s < n; s++) { /* a peaked, Laplace-like histogram */
            double d = fabs((double)s - n / 2.0);
            counts[s] = (uint64_t)(1000.0 * exp(-d / (1 + round % 7)) * (1 + next_u32() % 3));
            total += counts[s];
        }
        uint8_t len[TSL_HUFF_MAX_SYMS];
        int64_t bits = tsl_huff_lengths(counts, n, len);
        double h = 0;
        uint32_t used = 0;
        for (uint32_t s = 0; s < n; s++)
            if (counts[s]) {
                double p = (double)counts[s] / (double)total;
                h -= (double)counts[s] * log2(p);
                used++;
            }
        if (used < 2)
            continue;
        assert_true((double)bits >= h - 1e-6);
        assert_true((double)bits < h + (double)total);
        assert_true(fabs(kraft(len, n) - 1.0) < 1e-12);
    }
}

static void test_length_limit(void **st)
{
    (void)st;
    uint64_t counts[60];
    counts[0] = counts[1] = 1;
    for (int s = 2; s < 60; s++)
        counts[s] = counts[s - 1] + counts[s - 2];
    uint8_t len[60];
    int64_t bits = tsl_huff_lengths(counts, 60, len);
    int longest = 0;
    for (int s = 0; s < 60; s++)
        longest = len[s] > longest ? len[s] : longest;
    assert_true(longest <= TSL_HUFF_MAX_LEN);
    assert_true(longest >= 6);
    assert_true(fabs(kraft(len, 60) - 1.0) < 1e-12);
    assert_true(bits > 0);
    uint32_t code[60];
    assert_true(tsl_huff_codes(len, 60, code));
}

static void test_stream_roundtrip(void **st)
{
    (void)st;
    enum { N = 5000, NS = 37 };
    uint32_t syms[N];
    uint64_t counts[NS] = {0};
    for (int i = 0; i < N; i++) {
        uint32_t r = next_u32() % 1000, s = r < 500 ? 18 : r < 700 ? 17 + 2 * (r % 2)
                                                  : next_u32() % NS;
        syms[i] = s;
        counts[s]++;
    }
    uint8_t len[NS];
    uint32_t code[NS];
    int64_t bits = tsl_huff_lengths(counts, NS, len);
    assert_true(tsl_huff_codes(len, NS, code));
    /* prefix-free: no code is a prefix of another */
    for (int a = 0; a < NS; a++)
        for (int b = 0; b < NS; b++)
            if (a != b && len[a] && len[b] && len[a] <= len[b])
                assert_true(code[a] != code[b] >> (len[b] - len[a]));
    static uint8_t buf[N * 3];
    memset(buf, 0, sizeof buf);
    uint64_t pos = 0;
    for (int i = 0; i < N; i++)
        tsl_huff_put(buf, &pos, code[syms[i]], len[syms[i]]);
    assert_int_equal((int64_t)pos, bits);
    struct tsl_huff_decoder d;
    assert_true(tsl_huff_decoder_init(&d, len, NS));
    uint64_t rd = 0;
    for (int i = 0; i < N; i++)
        assert_int_equal(tsl_huff_get(&d, buf, pos, &rd), (int32_t)syms[i]);
    assert_int_equal(rd, pos);
    /* past the end: no symbol */
    assert_int_equal(tsl_huff_get(&d, buf, pos, &rd), -1);
}

static void test_invalid_tables(void **st)
{
    (void)st;
    struct tsl_huff_decoder d;
    uint8_t over[3] = {1, 1, 1}, incomplete[3] = {2, 2, 2}, too_long[2] = {1, 21},
            none[2] = {0, 0}, ok[3] = {2, 1, 2};
    assert_false(tsl_huff_decoder_init(&d, over, 3));
    assert_false(tsl_huff_decoder_init(&d, incomplete, 3));
    assert_false(tsl_huff_decoder_init(&d, too_long, 2));
    assert_false(tsl_huff_decoder_init(&d, none, 2));
    assert_true(tsl_huff_decoder_init(&d, ok, 3));
    /* "0" is symbol 1, "10" symbol 0, "11" symbol 2 */
    uint8_t buf[1] = {0x0d}; /* bits 1,0,1,1: "10" "11" */
    uint64_t pos = 0;
    assert_int_equal(tsl_huff_get(&d, buf, 4, &pos), 0);
    assert_int_equal(tsl_huff_get(&d, buf, 4, &pos), 2);
    assert_int_equal(tsl_huff_get(&d, buf, 5, &pos), 1);
    pos = 0;
    assert_int_equal(tsl_huff_get(&d, buf, 1, &pos), -1); /* cut inside "10" */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_cases),      cmocka_unit_test(test_near_entropy),
        cmocka_unit_test(test_length_limit),     cmocka_unit_test(test_stream_roundtrip),
        cmocka_unit_test(test_invalid_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
