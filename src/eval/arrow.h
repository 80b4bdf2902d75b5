/* arrow.h -- a small reader of Apache Arrow IPC *stream* files, the form in which
 * Hugging Face `datasets` save_to_disk stores a split (data-NNNNN-of-NNNNN.arrow).
 * Only what evaluation data needs is supported: columns of type utf8, large_utf8,
 * int8..int64 (signed and unsigned), float32/64, bool, null, list / large_list and
 * struct, nested freely, with validity bitmaps, over any number of record batches,
 * uncompressed. Everything else is refused with an error naming the file. The whole
 * file is validated when it is opened (every flatbuffer offset, every buffer range,
 * every offsets array), so reading a value afterwards needs no further checks.
 * The supported subset and why it is parsed by hand: doc/formats/arrow.md. */
#ifndef T6_EVAL_ARROW_H
#define T6_EVAL_ARROW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    T6_ARROW_NULL,
    T6_ARROW_BOOL,
    T6_ARROW_INT,
    T6_ARROW_FLOAT,
    T6_ARROW_UTF8,
    T6_ARROW_LIST,
    T6_ARROW_STRUCT,
} t6_arrow_kind;

/* One column (or a child of a list / struct column) of the schema. */
typedef struct t6_arrow_field {
    char *name;
    t6_arrow_kind kind;
    int bits;          /* INT: 8, 16, 32 or 64; FLOAT: 32 or 64 */
    int is_signed;     /* INT */
    int large;         /* UTF8, LIST: 64-bit offsets (large_utf8, large_list) */
    int nullable;
    int n_children;    /* LIST: 1; STRUCT: its members; the schema's root: the columns */
    struct t6_arrow_field *children;
} t6_arrow_field;

/* The data of one field in one record batch; pointers into the file's bytes. */
typedef struct t6_arrow_array {
    int64_t length, null_count;
    const uint8_t *validity;   /* bit i set = value i present; NULL when nothing is null */
    const uint8_t *offsets;    /* UTF8, LIST: length + 1 offsets of 4 (8 if large) bytes */
    const uint8_t *values;     /* BOOL bits, INT/FLOAT values, UTF8 bytes */
    struct t6_arrow_array *children;
} t6_arrow_array;

typedef struct {
    int64_t length;            /* rows */
    size_t msg_pos, msg_end;   /* its message in the file: first byte, end of its body */
    t6_arrow_array root;       /* children = the columns */
} t6_arrow_batch;

typedef struct {
    char *path;
    uint8_t *data;             /* the whole file */
    size_t size;
    t6_arrow_field schema;     /* STRUCT whose children are the columns */
    int n_batches;
    t6_arrow_batch *batches;
    int64_t n_rows;
} t6_arrow_table;

/* Reads and validates a whole stream file. 0, or -1 with `err` naming the file, the
 * message and what is wrong (nothing is left allocated then). */
int t6_arrow_open(const char *path, t6_arrow_table *t, char *err, size_t err_len);

/* The same on bytes already in memory; takes ownership of `data` (malloc'd), also on
 * failure. `path` names the bytes in errors. */
int t6_arrow_parse(const char *path, uint8_t *data, size_t size, t6_arrow_table *t, char *err, size_t err_len);

void t6_arrow_close(t6_arrow_table *t);

/* Row `row` of batch `b` as a JSON object {column: value} in schema order, as
 * Hugging Face's to_json writes it (list -> array, struct -> object, null -> null).
 * NULL with `err` set if a string is not valid UTF-8. */
json_t *t6_arrow_row_json(const t6_arrow_table *t, const t6_arrow_batch *b, int64_t row, char *err,
                          size_t err_len);

/* "utf8", "int64", "list<utf8>", ...: the type of a field for messages and dumps. */
void t6_arrow_type_name(const t6_arrow_field *f, char *buf, size_t len);

#endif
