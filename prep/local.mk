# prep/local.mk -- t6-prep: GPT-2 BPE tokenizer, corpus readers, corpus writer.
