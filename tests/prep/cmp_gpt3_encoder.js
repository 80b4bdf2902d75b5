// cmp_gpt3_encoder.js -- a third, independent opinion on tests/prep/hard_cases.json: the npm
// package gpt-3-encoder@1.1.4 (original GPT-2 merge rule, JavaScript regex with V8 Unicode
// tables). Not part of make check (needs npm); run as documented in doc/prep.md:
//   mkdir js && cd js && npm pack gpt-3-encoder@1.1.4 && tar xzf gpt-3-encoder-1.1.4.tgz
//   node $T6_SRCDIR/tests/prep/cmp_gpt3_encoder.js $T6_SRCDIR/tests/prep/hard_cases.json
// Expected: one difference, the case with " \ufeff" (JavaScript counts U+FEFF as \s).
// compares gpt-3-encoder (original GPT-2 algorithm, JS regex \p{L}/\p{N}, V8's Unicode)
// with the expected ids in hard_cases.json
const {encode} = require(process.cwd() + '/package/Encoder.js');
const fs = require('fs');
const v = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')).vectors;
let same = 0, diff = 0;
for (const c of v) {
  const got = encode(c.text);
  if (JSON.stringify(got) === JSON.stringify(c.ids)) same++;
  else { diff++; console.log('DIFF', JSON.stringify(c.text).slice(0, 60)); }
}
console.log('same', same, 'diff', diff);
