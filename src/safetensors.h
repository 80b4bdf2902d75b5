/* safetensors.h -- reader and writer of the safetensors format (doc/formats/hf-export.md):
 * an 8-byte little-endian header length N, N bytes of JSON header (per tensor: dtype,
 * shape, data_offsets relative to the data start; "__metadata__": string -> string),
 * padded with spaces so the data starts 8-byte aligned, then the raw little-endian
 * tensor bytes, packed without holes. Only what T6 weights need: 1-D/2-D F32 and BF16
 * tensors written from fp32 host memory; the reader accepts any rank and reports
 * other dtypes by name. Errors name the file and the tensor. */
#ifndef T6_SAFETENSORS_H
#define T6_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { T6_ST_F32 = 0, T6_ST_BF16 } t6_st_dtype;

/* One tensor to write: rows x cols fp32 values (cols = 0 writes a 1-D tensor of rows). */
typedef struct {
    const char *name;
    int rows, cols;
    const float *data;
} t6_st_src;

/* Writes path (through a temporary file that is renamed into place), every tensor
 * in dtype dt (fp32 -> bf16 rounds to nearest even), "__metadata__" from the n_meta
 * key/value pairs meta[2i], meta[2i+1] ("format": "pt" is always written first).
 * Returns 0, or -1 with a message in err. */
int t6_st_write(const char *path, const t6_st_src *t, int n, t6_st_dtype dt, const char *const *meta,
                int n_meta, char *err, size_t err_len);

#define T6_ST_MAX_DIMS 8

typedef struct {
    char *name;
    char dtype_name[16];     /* as written in the header ("F32", "BF16", "F16", ...) */
    int dtype;               /* t6_st_dtype, or -1 for a dtype t6 does not read */
    int ndim;
    int64_t shape[T6_ST_MAX_DIMS];
    uint64_t begin, end;     /* byte range relative to the data start */
} t6_st_entry;

typedef struct {
    char *path;
    FILE *f;
    uint64_t header_len;     /* N */
    uint64_t data_start;     /* 8 + N */
    uint64_t data_len;       /* bytes the header's tensors cover */
    int n;
    t6_st_entry *e;
    char *format;            /* __metadata__.format, or NULL */
} t6_st_file;

/* Opens and validates a safetensors file: header length within the file, header JSON
 * an object of tensor entries with known fields, shapes non-negative, data_offsets
 * consistent with dtype and shape, tensors packed without holes or overlaps, the file
 * long enough for them. Returns 0, or -1 with a message naming the file (and tensor). */
int t6_st_open(t6_st_file *sf, const char *path, char *err, size_t err_len);
void t6_st_close(t6_st_file *sf);

/* Index of a tensor by name, or -1. */
int t6_st_find(const t6_st_file *sf, const char *name);

/* Element count of entry i (product of its shape). */
uint64_t t6_st_numel(const t6_st_file *sf, int i);

/* Reads tensor i (F32 or BF16) into out as fp32 (bf16 widened exactly); numel must be
 * its element count. Returns 0, or -1 with a message in err. */
int t6_st_read_f32(t6_st_file *sf, int i, float *out, uint64_t numel, char *err, size_t err_len);

/* fp32 -> bf16 with round-to-nearest-even (NaN stays a quiet NaN), and back. */
uint16_t t6_f32_to_bf16(float x);
float t6_bf16_to_f32(uint16_t b);

#endif
