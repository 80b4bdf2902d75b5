/* hf.h -- weights in the Hugging Face layout that the reference code (tensorgi/TPA,
 * model/T6.py and friends) loads with GPT.from_pretrained: config.json (its GPTConfig
 * fields plus T6-C's own), model.safetensors (reference state-dict names, both tied
 * keys, F32 or BF16) and the GPT-2 tokenizer files vocab.json / merges.txt. Both ways:
 * `t6 --export-hf CKPT DIR` writes it, model.init_from = "hf:DIR" (and the eval and
 * generate jobs through t6_hf_load / t6_init_from) read it back. Layout and names per
 * attention type: doc/formats/hf-export.md. */
#ifndef T6_HF_H
#define T6_HF_H

#include <stddef.h>

#include "deck.h"
#include "params.h"

#define T6_HF_EXPORT_VERSION 1

typedef enum { T6_HF_FP32 = 0, T6_HF_BF16 } t6_hf_dtype;

typedef struct {
    t6_hf_dtype dtype;
    const char *vocab_dir;   /* holds encoder.json and vocab.bpe; NULL: write no tokenizer files */
    const char *source;      /* recorded in config.json as t6_source (may be NULL) */
} t6_hf_export_opts;

/* Writes DIR/config.json, DIR/model.safetensors and (with vocab_dir) DIR/vocab.json and
 * DIR/merges.txt for a model of config cfg with layout pl and host fp32 params. DIR is
 * created. A model the reference's model file cannot express (k_rank != v_rank for
 * TPA, for example) is still written, with a warning on stderr. 0, or -1 with err. */
int t6_hf_export(const char *dir, const t6_model_config *cfg, const t6_param_layout *pl, const float *params,
                 const t6_hf_export_opts *o, char *err, size_t err_len);

/* The same from a checkpoint file (its model config and parameters, no deck needed). */
int t6_hf_export_checkpoint(const char *ckpt, const char *dir, const t6_hf_export_opts *o, char *err,
                            size_t err_len);

/* The model configuration DIR describes: config.json, with the reference class defaults
 * for missing keys, the attention type from t6_attention or else from group_size and the
 * tensor names of model.safetensors. For programs without a deck. 0, or -1 with err
 * naming the file and key. */
int t6_hf_read_config(const char *dir, t6_model_config *cfg, char *err, size_t err_len);

/* Loads DIR into params (host fp32, layout pl of a model of config cfg): config.json
 * must describe cfg (an error names the first field that differs, with both values),
 * model.safetensors must hold every tensor of pl with its shape (F32, or BF16 widened
 * exactly) and nothing else except lm_head.weight, which must equal
 * transformer.wte.weight (T6 ties them). 0, or -1 with err naming file and tensor. */
int t6_hf_load(const char *dir, const t6_model_config *cfg, const t6_param_layout *pl, float *params, char *err,
               size_t err_len);

/* model.init_from: spec "none" (or NULL) leaves params alone and returns 1; "hf:DIR" loads
 * an HF directory (t6_hf_load); anything else is a t6 checkpoint file whose parameters
 * are loaded (its optimizer state is not). 0 when loaded, -1 with err. */
int t6_init_from(const char *spec, const t6_model_config *cfg, const t6_param_layout *pl, float *params, char *err,
                 size_t err_len);

#endif
