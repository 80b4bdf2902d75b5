/* parquet.h -- a reader for the subset of Apache Parquet that FineWeb/FineWeb-Edu
 * publish: one top-level BYTE_ARRAY column (REQUIRED or OPTIONAL), PLAIN and
 * dictionary (PLAIN_DICTIONARY / RLE_DICTIONARY) encodings, UNCOMPRESSED / SNAPPY /
 * GZIP / ZSTD pages, data pages v1 and v2 (page CRC32s checked where present), thrift
 * compact footer (required fields and row counts checked). Anything else is a
 * clear error, never a crash. Works on a memory image (the caller mmaps the file), so
 * resident memory stays at one page plus one dictionary whatever the file size. */
#ifndef T6_PREP_PARQUET_H
#define T6_PREP_PARQUET_H

#include <stddef.h>
#include <stdint.h>

typedef struct t6_parquet t6_parquet;

/* data[0..n) is the whole file; name is used in messages. NULL + message on error. */
t6_parquet *t6_parquet_open(const unsigned char *data, size_t n, const char *column, const char *name,
                            char *err, size_t err_len);
/* 1: a value in text and len (valid until the next call); 2: a null value (skip);
 * 0: end; -1: error (message in err, the reader cannot continue). */
int t6_parquet_next(t6_parquet *p, const char **text, size_t *len, char *err, size_t err_len);
int64_t t6_parquet_num_rows(const t6_parquet *p);
uint64_t t6_parquet_pos(const t6_parquet *p); /* bytes of the file consumed so far */
void t6_parquet_close(t6_parquet *p);

#endif
