/* readers.h -- streaming document readers for t6-prep: plain text (a file is a
 * document, or split on a delimiter), JSONL (optionally gzip) with a configurable text
 * field, Parquet (parquet.h), and archives through libarchive (tar, tar.xz, zip, and
 * OpenWebText's tar of .xz-compressed tar subsets, one level of nesting). Memory is
 * bounded by the largest document (and one Parquet page). */
#ifndef T6_PREP_READERS_H
#define T6_PREP_READERS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { T6_FMT_AUTO, T6_FMT_TEXT, T6_FMT_JSONL, T6_FMT_PARQUET, T6_FMT_ARCHIVE } t6_format;

typedef struct {
    t6_format format;       /* AUTO: by file name (see t6_guess_format) */
    const char *field;      /* JSONL / Parquet text field ("text") */
    const char *delimiter;  /* text: split documents on this string (NULL: whole file) */
    const char *member_ext; /* archives: only members ending so (NULL: all regular files) */
    size_t max_doc;         /* larger documents are skipped (counted) */
    int jsonl_raw;          /* JSONL: hand out whole lines, the caller decodes them with
                               t6_jsonl_line (so that threads can share the JSON work) */
} t6_reader_opts;

t6_format t6_guess_format(const char *path);
const char *t6_format_name(t6_format f);

typedef struct t6_reader t6_reader;
t6_reader *t6_reader_open(const char *path, const t6_reader_opts *o, char *err, size_t err_len);
/* 1: a document in text and len (valid until the next call); 2: a record skipped, the
 * reason in err (the caller counts it); 0: end of input; -1: fatal error in err. */
int t6_reader_next(t6_reader *r, const char **text, size_t *len, char *err, size_t err_len);
uint64_t t6_reader_pos(const t6_reader *r); /* input bytes consumed (for progress) */
/* Line number of the last JSONL record (1-based), else the record count. */
uint64_t t6_reader_record(const t6_reader *r);
/* Whether the documents handed out are raw JSONL lines (opts.jsonl_raw and a JSONL file). */
int t6_reader_is_raw_jsonl(const t6_reader *r);
void t6_reader_close(t6_reader *r);

/* JSONL: extracts field from one line. 1: text set (points into *scratch or the line);
 * 2: line skipped with the reason in err. Used by the reader and the fuzz target. */
int t6_jsonl_line(const char *line, size_t n, const char *field, char **scratch, size_t *cap,
                  const char **text, size_t *len, char *err, size_t err_len);

#endif
