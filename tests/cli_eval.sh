#!/bin/sh
# cli_eval.sh — command-line tests of nglm-eval: the report is SRILM's
# `ngram -ppl` format and agrees with what nglm-train printed for the same
# text, stdin and --per-sentence give the same numbers, OOVs are counted,
# and every bad model, text or option is one line on stderr and a non-zero
# exit.
. "$(dirname "$0")/cli_lib.sh"
E=$B/nglm-eval
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
TEST=$T/small.test.txt
M=$T/m.nglm
"$B/nglm-train" --quiet --order 3 --epochs 2 --threads 1 --train "$T/small.train.txt" \
    --valid "$T/small.valid.txt" --test "$TEST" --model "$M" --write-vocab "$T/vocab.txt" \
    >"$T/train.out"
check "trained a model to evaluate" test -s "$M"

# ---------------------------------------------------------------- happy path
expect 0 "evaluates a text" '' "$E" --model "$M" "$TEST"
cp "$T/out" "$T/eval.out"
check "two lines of report, and a third without <unk> when some token is <unk>" \
    test "$(wc -l <"$T/eval.out")" = $((2 + $(grep -c '^excluding the [0-9]* tokens scored as <unk>: logprob= ' "$T/eval.out")))
check "SRILM header line" \
    grep -Eq "^file $TEST: [0-9]+ sentences, [0-9]+ words, [0-9]+ OOVs(, scored as <unk>)?\$" "$T/eval.out"
check "SRILM perplexity line" \
    grep -Eq '^0 zeroprobs, logprob= -[0-9]+\.[0-9]+ ppl= [0-9]+\.[0-9]+ ppl1= [0-9]+\.[0-9]+$' \
    "$T/eval.out"
sents=$(wc -l <"$TEST" | tr -d ' ')
words=$(wc -w <"$TEST" | tr -d ' ')
check "counts the sentences and words ($sents, $words)" \
    grep -q "^file $TEST: $sents sentences, $words words, " "$T/eval.out"
check "the same report as nglm-train --test" \
    test "$(grep -E '^(file|0 zeroprobs|excluding the)' "$T/train.out")" = "$(cat "$T/eval.out")"
# OOVs are scored as <unk> (unlike SRILM, which skips them), so ppl counts
# every word and </s>, ppl1 every word.
check "ppl agrees with logprob over words and </s>" \
    awk -v w="$words" -v s="$sents" '/^0 zeroprobs/ {
        p = 10 ^ (-$4 / (w + s)); exit !(p / $6 > 0.999 && p / $6 < 1.001) }' "$T/eval.out"
# SRILM's ppl1: the whole logprob (</s> included) over the words alone
check "ppl1 is the whole logprob over words" \
    awk -v w="$words" '/^0 zeroprobs/ {
        p = 10 ^ (-$4 / w); exit !(p / $8 > 0.999 && p / $8 < 1.001) }' "$T/eval.out"
expect 0 "reads stdin as -" '^file \(stdin\): ' sh -c "'$E' --model '$M' - <'$TEST'"
check "stdin gives the same numbers" \
    test "$(sed 1d "$T/out")" = "$(sed 1d "$T/eval.out")" \
    -a "$(sed -n '1s/^file [^:]*://p' "$T/out")" = "$(sed -n '1s/^file [^:]*://p' "$T/eval.out")"
expect 0 "--threads 1" '' "$E" --model "$M" --threads 1 "$TEST"
check "--threads 1 gives the same report" cmp -s "$T/out" "$T/eval.out"
expect 0 "--threads 3" '' "$E" --model "$M" --threads 3 "$TEST"
check "--threads 3 gives the same report" cmp -s "$T/out" "$T/eval.out"
expect 0 "the valid text" '' "$E" --model "$M" "$T/small.valid.txt"
vppl=$(sed -n 's/^saved .*valid ppl \([0-9.]*\),.*/\1/p' "$T/train.out")
check "its ppl is the valid ppl nglm-train saved ($vppl)" grep -q " ppl= $vppl " "$T/out"

expect 0 "--per-sentence" '' "$E" --model "$M" --per-sentence "$TEST"
cp "$T/out" "$T/ps.out"
check "one line per sentence" \
    test "$(grep -Ec '^sentence [0-9]+: logprob= -[0-9]+\.[0-9]+ tokens= [0-9]+ oovs= [0-9]+$' "$T/ps.out")" = "$sents"
check "sentences numbered from 1 in order" \
    awk '/^sentence/ { n++; if ($2 != n ":") exit 1 } END { exit n == 0 }' "$T/ps.out"
check "tokens count the words and </s>" \
    test "$(awk '/^sentence/ { t += $6 } END { print t }' "$T/ps.out")" = "$((words + sents))"
check "per-sentence log10 probs sum to the total" \
    awk '/^sentence/ { s += $4 } /^0 zeroprobs/ { t = $4 }
         END { d = s - t; exit !(d < 0.01 && d > -0.01) }' "$T/ps.out"
check "the totals are the same as without --per-sentence" \
    test "$(grep -v '^sentence ' "$T/ps.out")" = "$(cat "$T/eval.out")"
# a blank line is a sentence of its own (its </s>), so that sentence N is
# line N of the text, as KenLM's query reads it; --print-tokens keeps lines
head -n 3 "$TEST" >"$T/bl.txt"
printf '\n   \n' >>"$T/bl.txt"
sed -n 4,5p "$TEST" >>"$T/bl.txt"
expect 0 "--per-sentence with blank lines" '' "$E" --model "$M" --per-sentence "$T/bl.txt"
check "one line of result per line of text" test "$(grep -c '^sentence ' "$T/out")" = 7
check "a blank line scores its </s> alone" \
    test "$(sed -n 's/^sentence 4: .* tokens= \([0-9]*\) .*/\1/p' "$T/out")$(sed -n 's/^sentence 5: .* tokens= \([0-9]*\) .*/\1/p' "$T/out")" = 11
check "the report counts them as sentences" grep -q ": 7 sentences, " "$T/out"
"$B/nglm-train" --quiet --order 3 --epochs 1 --threads 1 --train "$T/small.train.txt" \
    --valid "$T/small.valid.txt" --test "$T/bl.txt" --model "$T/bl.nglm" >"$T/bl-train.out"
"$E" --model "$T/bl.nglm" "$T/bl.txt" >"$T/bl-eval.out"
check "nglm-train --test reads blank lines as nglm-eval does" \
    test "$(grep -E '^(file|0 zeroprobs|excluding)' "$T/bl-train.out")" = "$(cat "$T/bl-eval.out")"
expect 0 "--print-tokens keeps the lines" '' "$E" --model "$M" --print-tokens "$T/bl.txt"
check "--print-tokens: as many lines as the text, blank where it is blank" \
    test "$(wc -l <"$T/out")" = 7 -a -z "$(sed -n 4p "$T/out")"
expect 0 "--help" '^Usage: nglm-eval' "$E" --help
expect 0 "--version" '^nglm-eval .*[0-9]+\.[0-9]+' "$E" --version

# ---------------------------------------------------------------- OOVs
known=$(sed -n 4p "$T/vocab.txt" | cut -f1)
printf 'xyzzy plugh\nxyzzy %s\n%s %s %s\n' "$known" "$known" "$known" "$known" >"$T/oov.txt"
expect 0 "a text with OOVs" '' "$E" --model "$M" "$T/oov.txt"
check "OOVs counted (3 of 7 words), and said to be scored as <unk>" \
    grep -q "oov\.txt: 3 sentences, 7 words, 3 OOVs, scored as <unk>\$" "$T/out"
# KenLM's "excluding OOVs": logprob less the <unk> tokens' (from
# --per-sentence of a text of the OOVs alone), perplexities over the rest
"$E" --model "$M" --digits 6 "$T/oov.txt" >"$T/oov6.out"
check "the figure without the 3 <unk> tokens" awk '
    /^0 zeroprobs/ { lp = $4 }
    /^excluding the 3 tokens scored as <unk>: / { ex = $9; p = $11; p1 = $13 }
    END { exit !(ex != "" && ex > lp && p > 0 && p1 > p) }' "$T/oov6.out"
check "and scored: a finite perplexity" \
    grep -Eq '^0 zeroprobs, logprob= -[0-9.]+ ppl= [0-9.]+ ppl1= [0-9.]+$' "$T/out"
printf '%s %s\n' "$known" "$known" >"$T/known.txt"
expect 0 "a text without OOVs" '2 words, 0 OOVs' "$E" --model "$M" "$T/known.txt"

# ---------------------------------------------------------------- bad usage
expect_error "missing --model" "^nglm-eval: --model FILE is required" "$E" "$TEST"
"$E" "$TEST" 2>/dev/null
check "bad usage exits 2" test $? = 2
# no TEXT: stdin, as KenLM's query reads it; a terminal there is bad usage
"$E" --model "$M" "$TEST" | sed 1d >"$T/file.rep"
expect 0 "no TEXT: stdin is read" "^file \(stdin\): " sh -c "'$E' --model '$M' <'$TEST'"
check "no TEXT: the report of the file" test "$(sed -n '2,$p' "$T/out")" = "$(cat "$T/file.rep")"
if command -v script >/dev/null 2>&1; then
    expect 2 "no TEXT and a terminal on stdin" "no TEXT to evaluate" \
        script -qec "'$E' --model '$M'" /dev/null
fi
expect_error "more than one TEXT" "more than one TEXT" "$E" --model "$M" "$TEST" "$TEST"
expect_error "--threads 0" "--threads: '0' is out of range" "$E" --model "$M" --threads 0 "$TEST"
expect_error "unknown option" "'--frobnicate'" "$E" --model "$M" --frobnicate "$TEST"
expect_error "--model without its value" "^nglm-eval: --model needs a value \(see --help\)$" "$E" --model
expect_error "--threads without its value, after --model=FILE" "^nglm-eval: --threads needs a value" \
    "$E" --model="$M" --threads
expect_error "SRILM's -ppl: named, with how nglm-eval is called" \
    "^nglm-eval: unknown option '-ppl': nglm-eval takes --model FILE TEXT" \
    "$E" --model "$M" -ppl "$TEST"
expect_error "SRILM's -lm" "unknown option '-lm': nglm-eval takes --model" "$E" -lm "$M" "$TEST"
expect_error "an unknown short cluster is named, not the word before it" \
    "^nglm-eval: unknown option '-x' \(in '-xyz'; long options are spelled --name" \
    "$E" --model "$M" -xyz "$TEST"
expect_error "an unknown --name=value names the option only" "^nglm-eval: unknown option '--frob' " \
    "$E" --frob=3 --model "$M" "$TEST"

# ---------------------------------------------------------------- bad model
expect_error "a text file as the model" "small\.test\.txt: not an nglm model file" \
    "$E" --model "$TEST" "$TEST"
"$E" --model "$TEST" "$TEST" 2>/dev/null
check "a bad model exits 1" test $? = 1
printf 'mmap lm http://kheafield.com/code format version 5\n\0\0\0\0' >"$T/kenlm.binary"
expect_error "a KenLM binary model: what to pass instead" \
    "kenlm\.binary: a KenLM binary model, which nglm cannot read: give the ARPA file" \
    "$E" --model "$T/kenlm.binary" "$TEST"
gzip -c "$TEST" >"$T/test.txt.gz"
expect 0 "a gzipped text is read uncompressed" "^file $T/test.txt.gz: " \
    "$E" --model "$M" "$T/test.txt.gz"
expect 0 "a gzipped training text too" "^train $T/test.txt.gz: " \
    "$B/nglm-train" --train "$T/test.txt.gz" --model "$T/gz.nglm" --no-checkpoint --order 2 \
    --epochs 1 --features ngram --threads 1
head -c 5000 "$M" >"$T/trunc.nglm"
expect_error "a truncated model" "trunc\.nglm: .*truncated" "$E" --model "$T/trunc.nglm" "$TEST"
# a model from a newer format version (the u32 after the 8-byte magic) and
# one with a damaged byte (the CRC-32 no longer matches)
cp "$M" "$T/newer.nglm"
printf '\011\000\000\000' | dd of="$T/newer.nglm" bs=1 seek=8 conv=notrunc 2>/dev/null
expect_error "a model from a newer format version" "newer.nglm: model format version 9 is newer" \
    "$E" --model "$T/newer.nglm" "$TEST"
cp "$M" "$T/crc.nglm"
size=$(wc -c <"$M")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$M" | tr -d ' ')
printf "\\$(printf '%03o' $((255 - byte)))" | dd of="$T/crc.nglm" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
check "the damaged copy differs" sh -c "! cmp -s '$M' '$T/crc.nglm'"
expect_error "--verify: a model whose checksum does not match" "crc.nglm: checksum mismatch" \
    "$E" --verify --model "$T/crc.nglm" "$TEST"
# The default (mapped) load checks what the lookups need, not the CRC: a
# damaged byte elsewhere is scored or refused in one line, never a crash.
"$E" --model "$T/crc.nglm" "$TEST" >"$T/out" 2>"$T/err"
got=$?
check "without --verify a damaged byte is scored or refused (exit $got), no crash" \
    sh -c "[ $got = 0 ] || { [ $got = 1 ] && [ \$(wc -l <'$T/err') = 1 ]; }"
# a flipped low byte of one weight (WEIGHTS: section id 4; its u64 count,
# then the doubles): the mapped load scores it (another logprob), --verify
# refuses it
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
u64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' '; }
i=0 wts=
while [ $i -lt "$(u32 "$M" 20)" ]; do
    [ "$(u32 "$M" $((40 + 24 * i)))" = 4 ] && wts=$(u64 "$M" $((40 + 24 * i + 8)))
    i=$((i + 1))
done
nf=$(u64 "$M" "$wts")
at=$((wts + 8 + 8 * (nf - 1) + 5)) # the last weight: an n-gram's
cp "$M" "$T/weight.nglm"
byte=$(od -An -tu1 -j $at -N1 "$M" | tr -d ' ')
printf "\\$(printf '%03o' $((byte ^ 16)))" | dd of="$T/weight.nglm" bs=1 seek=$at conv=notrunc 2>/dev/null
check "the weight is damaged" sh -c "! cmp -s '$M' '$T/weight.nglm'"
expect_error "a damaged weight, mapped without --verify: its block's checksum refuses it" \
    "weight.nglm: bytes [0-9]+\\.\\.[0-9]+ \\(block [0-9]+ of 64 KiB\\) are damaged" \
    "$E" --model "$T/weight.nglm" "$TEST"
expect_error "--verify catches the damaged weight" "weight.nglm: checksum mismatch: file is corrupted" \
    "$E" --verify --model "$T/weight.nglm" "$TEST"
expect 0 "--verify on a sound model" '' "$E" --verify --model "$M" "$TEST"
check "--verify gives the same report as the default mapped load" \
    test "$(cat "$T/out")" = "$(cat "$T/eval.out")"
for cut in 40 100 1000 $(( $(wc -c <"$M") - 1 )); do
    head -c $cut "$M" >"$T/cut.nglm"
    expect_error "a model cut at $cut bytes, mapped" "cut\.nglm: file is truncated" \
        "$E" --model "$T/cut.nglm" "$TEST"
done
head -c 16 "$M" >"$T/head.nglm"
expect_error "only the model's first bytes" "head\.nglm: " "$E" --model "$T/head.nglm" "$TEST"
: >"$T/empty.nglm"
expect_error "an empty model file" "empty\.nglm: not an nglm model" "$E" --model "$T/empty.nglm" "$TEST"
mkdir "$T/dir"
expect_error "a directory as the model" "dir: is a directory" "$E" --model "$T/dir" "$TEST"
expect_error "a missing model" "nope\.nglm: No such file" "$E" --model "$T/nope.nglm" "$TEST"
expect_error "/dev/null as the model" "/dev/null" "$E" --model /dev/null "$TEST"

# ---------------------------------------------------------------- bad text
expect_error "a missing text" "missing\.txt: No such file" "$E" --model "$M" "$T/missing.txt"
expect_error "a directory as the text" "dir: is a directory" "$E" --model "$M" "$T/dir"
{ head -2 "$TEST"; printf 'abc \303\050 def\n'; } >"$T/badutf.txt"
expect_error "invalid UTF-8 text names file:line and offset" \
    "badutf\.txt:3: invalid UTF-8 at byte offset [0-9]+" "$E" --model "$M" "$T/badutf.txt"
expect_error "invalid UTF-8 on stdin" "invalid UTF-8" \
    sh -c "'$E' --model '$M' - <'$T/badutf.txt'"
printf 'abc\000def\n' >"$T/nul.txt"
expect_error "a NUL byte names the file" "nul\.txt:1: .*NUL byte" "$E" --model "$M" "$T/nul.txt"
if [ -w /dev/full ]; then
    expect_error "stdout full" "report" sh -c "'$E' --model '$M' '$TEST' >/dev/full"
fi
# ---------------------------------------------------------------- progress
"$E" --model "$M" "$TEST" >"$T/p0.out" 2>"$T/p0.err"
check "a short run off a terminal prints no progress" test ! -s "$T/p0.err"
"$E" --model "$M" --progress always "$TEST" >"$T/p1.out" 2>"$T/p1.err"
check "--progress always: reading progress in MB" \
    grep -Eq "^reading $TEST: +[0-9.]+%  [0-9]+ MB/s  ETA [0-9]+:[0-9]{2}\$" "$T/p1.err"
check "--progress always: scoring progress in tokens" \
    grep -Eq '^scoring: +[0-9.]+%  [0-9]+ tokens/s  ETA [0-9]+:[0-9]{2}$' "$T/p1.err"
check "--progress always: only progress lines" \
    test -z "$(grep -Ev '^(reading|scoring)' "$T/p1.err")"
check "--progress always: the same report" cmp -s "$T/p0.out" "$T/p1.out"
"$E" --model "$M" --progress always - <"$TEST" >/dev/null 2>"$T/p2.err"
check "--progress always on stdin: bytes without a percentage" \
    grep -Eq '^reading -: [0-9]+ MB  [0-9]+ MB/s$' "$T/p2.err"
"$E" --model "$M" --progress never "$TEST" >/dev/null 2>"$T/p3.err"
check "--progress never: nothing on stderr" test ! -s "$T/p3.err"
if command -v script >/dev/null 2>&1 && script --version 2>/dev/null | grep -q util-linux; then
    script -q -e -c "'$E' --model '$M' '$TEST' >/dev/null" /dev/null >"$T/tty" 2>&1 </dev/null
    CR=$(printf '\r')
    check "on a terminal: progress redrawn with CR" grep -q "${CR}scoring: " "$T/tty"
fi
expect_error "--progress bogus" "--progress: 'bogus' is not auto, always or never" \
    "$E" --model "$M" --progress bogus "$TEST"
# --per-word: KenLM query's lines, one a sentence, whose totals are the
# report's; the n-gram order used is the ARPA export's, word for word
"$B/nglm-train" --quiet --order 3 --epochs 1 --features ngram --threads 1 \
    --train "$T/small.train.txt" --valid "$T/small.valid.txt" --model "$T/ng.nglm" >/dev/null
"$B/nglm-export" --model "$T/ng.nglm" -o "$T/ng.arpa"
expect 0 "--per-word" '' "$E" --model "$T/ng.nglm" --per-word --digits 6 "$T/oov.txt"
cp "$T/out" "$T/pw.out"
check "--per-word: a line per sentence, then the report" \
    test "$(grep -c 'Total: ' "$T/pw.out")" = "$(wc -l <"$T/oov.txt")"
check "--per-word: each token is word=ID N LOG10P" test -z "$(grep 'Total: ' "$T/pw.out" |
    tr '\t' '\n' | grep -v '^Total: ' | grep -Ev '^[^ =]+=[0-9]+ [1-9] -[0-9.]+$')"
check "--per-word: the sentence totals sum to the report's logprob" awk '
    { for (i = 1; i <= NF; i++) if ($i == "Total:") s += $(i + 1) }
    /^0 zeroprobs/ { t = $4 } END { d = s - t; exit !(d < 1e-3 && d > -1e-3) }' "$T/pw.out"
check "--per-word: OOVs counted as query counts them" \
    test "$(sed -n 1p "$T/pw.out" | sed 's/.*OOV: //')" = 2
check "--per-word: the surface word of an OOV, with <unk>'s id as query gives it (0)" grep -q "^xyzzy=0 1 " "$T/pw.out"
"$E" --model "$T/ng.arpa" --per-word --digits 6 "$T/oov.txt" >"$T/pw-arpa.out"
check "--per-word: the ARPA export's orders, token for token" \
    test "$(grep 'Total' "$T/pw.out" | tr '\t' '\n' | cut -d' ' -f1,2)" = \
         "$(grep 'Total' "$T/pw-arpa.out" | tr '\t' '\n' | cut -d' ' -f1,2)"
expect 0 "--per-word on stdin" '' sh -c "'$E' --model '$T/ng.nglm' --per-word --digits 6 - <'$T/oov.txt'"
check "--per-word on stdin: the same lines" \
    test "$(grep Total "$T/out")" = "$(grep Total "$T/pw.out")"
expect_error "--per-word with --print-tokens" "cannot go with --per-word" \
    "$E" --model "$M" --per-word --print-tokens "$TEST"
finish
