/* huffman.h - canonical, length-limited Huffman codes over at most 256
 * symbols: the entropy coding of codebook indices (TSL_CODING_HUFFMAN).
 * Code lengths come from symbol counts; codes are canonical (shorter codes
 * first, then by symbol), so the lengths alone define the code and are all
 * a stored stream needs.  Bits go LSB-first into bytes, each code written
 * from its most significant bit.  The decoder treats lengths and stream as
 * untrusted.  No I/O, no allocation. */
#ifndef TESSEL_HUFFMAN_H
#define TESSEL_HUFFMAN_H

#include <stdbool.h>
#include <stdint.h>

#define TSL_HUFF_MAX_SYMS 256
#define TSL_HUFF_MAX_LEN 20
/* Bits of the stored code table: one 5-bit length per symbol. */
#define TSL_HUFF_LEN_BITS 5

/* Code lengths for symbols 0..n-1 with the given counts (0 for an unused
 * symbol; a single used symbol gets length 1), at most TSL_HUFF_MAX_LEN.
 * Returns the coded size sum counts[s] * len[s] in bits (0 when no symbol
 * is used).  Deterministic: ties break by symbol index. */
int64_t tsl_huff_lengths(const uint64_t *counts, uint32_t n, uint8_t *len);

/* Canonical codes for the lengths (code[s] holds len[s] bits).  False when
 * the lengths are invalid: a length above TSL_HUFF_MAX_LEN, an
 * over-subscribed code, or an incomplete one (allowed only when exactly one
 * symbol is used). */
bool tsl_huff_codes(const uint8_t *len, uint32_t n, uint32_t *code);

/* Append the code of a symbol at bit position *pos of buf (LSB-first). */
void tsl_huff_put(uint8_t *buf, uint64_t *pos, uint32_t code, uint8_t len);

struct tsl_huff_decoder {
    uint16_t count[TSL_HUFF_MAX_LEN + 1]; /* codes of each length */
    uint16_t symbol[TSL_HUFF_MAX_SYMS];   /* symbols in canonical order */
};
/* False when the lengths are invalid (as tsl_huff_codes). */
bool tsl_huff_decoder_init(struct tsl_huff_decoder *d, const uint8_t *len, uint32_t n);
/* Next symbol from buf (nbits valid bits) at *pos; -1 when the stream ends
 * inside a code or holds a code that is not assigned. */
int32_t tsl_huff_get(const struct tsl_huff_decoder *d, const uint8_t *buf, uint64_t nbits,
                     uint64_t *pos);

#endif
