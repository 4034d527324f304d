/* huffman.c - canonical, length-limited Huffman codes (huffman.h): code
 * lengths from counts by the two-queue construction over the sorted counts
 * (limited by halving the counts until the longest code fits), canonical
 * code assignment, and a bit-at-a-time decoder that rejects malformed
 * tables and streams.  Used for codebook indices only; no I/O. */
#include "tessel/huffman.h"

#include <stdlib.h>
#include <string.h>

struct leaf {
    uint64_t count;
    uint32_t sym;
};

static int cmp_leaf(const void *x, const void *y)
{
    const struct leaf *a = x, *b = y;
    if (a->count != b->count)
        return a->count < b->count ? -1 : 1;
    return (a->sym > b->sym) - (a->sym < b->sym);
}

/* Huffman lengths of m sorted leaves (m >= 2) into depth[0..m-1]; returns
 * the longest. */
static int build(const struct leaf *lv, uint32_t m, uint8_t *depth)
{
    /* nodes 0..m-1 are leaves, m..2m-2 internal in creation order (their
     * weights never decrease, so they form the second queue). */
    uint64_t w[2 * TSL_HUFF_MAX_SYMS];
    uint32_t parent[2 * TSL_HUFF_MAX_SYMS];
    for (uint32_t i = 0; i < m; i++)
        w[i] = lv[i].count;
    uint32_t li = 0, ii = m, next = m;
    while (next < 2 * m - 1) {
        uint32_t pick[2];
        for (int k = 0; k < 2; k++) {
            if (li < m && (ii >= next || w[li] <= w[ii]))
                pick[k] = li++;
            else
                pick[k] = ii++;
        }
        w[next] = w[pick[0]] + w[pick[1]];
        parent[pick[0]] = parent[pick[1]] = next;
        next++;
    }
    /* depth of internal nodes from the root (2m-2) down: parents have
     * higher indices than their children */
    uint8_t d[2 * TSL_HUFF_MAX_SYMS];
    d[2 * m - 2] = 0;
    int longest = 0;
    for (uint32_t i = 2 * m - 2; i-- > 0;) {
        unsigned dd = d[parent[i]] + 1u;
        d[i] = (uint8_t)(dd > 255 ? 255 : dd);
        if (i < m) {
            depth[i] = d[i];
            if (d[i] > longest)
                longest = d[i];
        }
    }
    return longest;
}

int64_t tsl_huff_lengths(const uint64_t *counts, uint32_t n, uint8_t *len)
{
    struct leaf lv[TSL_HUFF_MAX_SYMS];
    uint32_t m = 0;
    if (n > TSL_HUFF_MAX_SYMS)
        n = TSL_HUFF_MAX_SYMS;
    memset(len, 0, n);
    for (uint32_t s = 0; s < n; s++)
        if (counts[s])
            lv[m++] = (struct leaf){counts[s], s};
    if (m == 0)
        return 0;
    if (m == 1) {
        len[lv[0].sym] = 1;
        return (int64_t)lv[0].count;
    }
    uint8_t depth[TSL_HUFF_MAX_SYMS];
    for (;;) {
        qsort(lv, m, sizeof *lv, cmp_leaf);
        if (build(lv, m, depth) <= TSL_HUFF_MAX_LEN)
            break;
        for (uint32_t i = 0; i < m; i++) /* flatten and retry */
            lv[i].count = (lv[i].count + 1) / 2;
    }
    int64_t total = 0;
    for (uint32_t i = 0; i < m; i++) {
        len[lv[i].sym] = depth[i];
        total += (int64_t)counts[lv[i].sym] * depth[i];
    }
    return total;
}

/* Codes per length; false when a length is too long or the code is
 * over-subscribed or (with two or more symbols) incomplete. */
static bool count_lengths(const uint8_t *len, uint32_t n, uint16_t *count)
{
    memset(count, 0, (TSL_HUFF_MAX_LEN + 1) * sizeof *count);
    uint32_t used = 0;
    for (uint32_t s = 0; s < n; s++) {
        if (len[s] > TSL_HUFF_MAX_LEN)
            return false;
        if (len[s]) {
            count[len[s]]++;
            used++;
        }
    }
    if (used == 0)
        return false;
    int64_t left = 1; /* Kraft: codes still available at each length */
    for (int l = 1; l <= TSL_HUFF_MAX_LEN; l++) {
        left = 2 * left - count[l];
        if (left < 0)
            return false;
    }
    return left == 0 || (used == 1 && count[1] == 1);
}

bool tsl_huff_codes(const uint8_t *len, uint32_t n, uint32_t *code)
{
    uint16_t count[TSL_HUFF_MAX_LEN + 1];
    if (n > TSL_HUFF_MAX_SYMS || !count_lengths(len, n, count))
        return false;
    uint32_t next[TSL_HUFF_MAX_LEN + 1], c = 0;
    count[0] = 0;
    for (int l = 1; l <= TSL_HUFF_MAX_LEN; l++) {
        c = (c + count[l - 1]) << 1;
        next[l] = c;
    }
    for (uint32_t s = 0; s < n; s++)
        code[s] = len[s] ? next[len[s]]++ : 0;
    return true;
}

void tsl_huff_put(uint8_t *buf, uint64_t *pos, uint32_t code, uint8_t len)
{
    for (int b = len - 1; b >= 0; b--, (*pos)++)
        if ((code >> b) & 1u)
            buf[*pos / 8] |= (uint8_t)(1u << (*pos % 8));
}

bool tsl_huff_decoder_init(struct tsl_huff_decoder *d, const uint8_t *len, uint32_t n)
{
    if (n > TSL_HUFF_MAX_SYMS || !count_lengths(len, n, d->count))
        return false;
    uint16_t offs[TSL_HUFF_MAX_LEN + 2];
    offs[1] = 0;
    for (int l = 1; l <= TSL_HUFF_MAX_LEN; l++)
        offs[l + 1] = (uint16_t)(offs[l] + d->count[l]);
    for (uint32_t s = 0; s < n; s++)
        if (len[s])
            d->symbol[offs[len[s]]++] = (uint16_t)s;
    return true;
}

int32_t tsl_huff_get(const struct tsl_huff_decoder *d, const uint8_t *buf, uint64_t nbits,
                     uint64_t *pos)
{
    int32_t code = 0, first = 0, index = 0;
    for (int l = 1; l <= TSL_HUFF_MAX_LEN; l++) {
        if (*pos >= nbits)
            return -1;
        code |= (buf[*pos / 8] >> (*pos % 8)) & 1;
        (*pos)++;
        int32_t count = d->count[l];
        if (code - first < count)
            return d->symbol[index + (code - first)];
        index += count;
        first = (first + count) << 1;
        code <<= 1;
    }
    return -1;
}
