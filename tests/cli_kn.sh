#!/bin/sh
# cli_kn.sh — command-line tests of nglm-kn: stdin, --train, pipes, any
# thread count and any memory budget give the same ARPA bytes; .gz and
# --model hold the same model (nglm-eval scores both alike); pruning and
# the discount fallback do what lmplz's do, with probabilities that sum to
# one and values checked by hand on tiny texts; every bad option or input
# is one line on stderr with the documented exit status, and leaves an
# existing output file untouched.
. "$(dirname "$0")/cli_lib.sh"
K=$B/nglm-kn
E=$B/nglm-eval
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/x"
TXT=$T/x.train.txt
TEST=$T/x.test.txt

# fails STATUS DESC PATTERN CMD... : expect_error, and the exit status is
# STATUS with nothing on stdout.
fails() {
    st=$1
    shift
    expect_error "$@"
    check "$1: exit $st, nothing on stdout" test "$got" = "$st" -a ! -s "$T/out"
}

# arpa_ok FILE N: \data\ first, ngram m=COUNT > 0 for m = 1..N and no more,
# each section holding COUNT lines, \end\ last.
arpa_ok() {
    awk -v N="$2" '
        NR == 1 && $0 != "\\data\\" { bad = 1 }
        /^ngram [0-9]+=/ { split(substr($0, 7), f, "="); want[f[1]] = f[2]; n++ }
        /^\\[0-9]+-grams:$/ { m = substr($0, 2) + 0; next }
        /^\\end\\$/ { m = 0; end = NR }
        m > 0 && NF > 0 { got[m]++ }
        END { if (bad || n != N || end != NR) exit 1
              for (m = 1; m <= N; m++) if (!(want[m] > 0) || got[m] != want[m]) exit 1 }' "$1"
}

# ngrams FILE M: the count of M-grams an ARPA file declares
ngrams() { sed -n "s/^ngram $2=//p" "$1"; }

# sums_to_one FILE: in the ARPA file, the back-off distribution after every
# context (the empty one and each listed n-gram below the highest order)
# sums to one over the predicted words (the 1-grams but <s>), to 1e-6.
# Slow in awk: only for small vocabularies.
sums_to_one() {
    awk -F'\t' '
        /^\\[0-9]+-grams:$/ { n = substr($0, 2) + 0; if (n > N) N = n; next }
        /^\\end\\$/ { n = 0; next }
        n > 0 && NF >= 2 { lp[$2] = $1; if (NF >= 3) bo[$2] = $3 }
        function prob(ctx, w,    k, rest) {
            k = ctx == "" ? w : ctx " " w
            if (k in lp) return 10 ^ lp[k]
            if (ctx == "") return 0
            rest = ctx; sub(/^[^ ]+ ?/, "", rest)
            return (ctx in bo ? 10 ^ bo[ctx] : 1) * prob(rest, w)
        }
        END { for (k in lp) if (index(k, " ") == 0 && k != "<s>") words[k] = 1
              ctx[""] = 1
              for (k in lp) { m = split(k, t, " "); if (m < N && t[m] != "</s>") ctx[k] = 1 }
              for (c in ctx) { s = 0; for (w in words) s += prob(c, w)
                               if (s < 1 - 1e-6 || s > 1 + 1e-6) exit 1 }
              exit N == 0 }' "$1"
}

# same_ppl DESC FILE1 FILE2: the ppl= values of two nglm-eval reports
# differ by < 1e-6 (the ARPA file's 8 digits; as tests/cli_arpa.sh)
same_ppl() {
    check "$1" awk '/zeroprobs/ { for (i = 1; i < NF; i++) if ($i == "ppl=") p[FILENAME] = $(i + 1) }
        END { n = 0; for (f in p) v[++n] = p[f]
              exit !(n == 2 && v[1] > 0 && (v[1] - v[2]) / v[1] < 1e-6 && (v[2] - v[1]) / v[1] < 1e-6) }' \
        "$2" "$3"
}

# finite_ppl DESC FILE: an nglm-eval report with no zero probabilities and
# a finite perplexity
finite_ppl() {
    check "$1" grep -Eq '^0 zeroprobs, logprob= -?[0-9]+\.[0-9]+ ppl= [0-9]+\.[0-9]+ ppl1= [0-9]+\.[0-9]+$' "$2"
}

# ---------------------------------------------------------------- stdin, --train
expect 0 "-o 3 < text > out.arpa" '' sh -c "'$K' -o 3 --threads 1 <'$TXT' >'$T/a.arpa'"
check "an ARPA file: \\data\\ first" test "$(head -1 "$T/a.arpa")" = '\data\'
check "ngram counts for orders 1..3" \
    test "$(grep -c '^ngram [123]=[1-9][0-9]*$' "$T/a.arpa")" = 3
check "\\end\\ last" test "$(tail -1 "$T/a.arpa")" = '\end\'
check "every section holds the n-grams its header counts" arpa_ok "$T/a.arpa" 3
V=$(($(tr ' ' '\n' <"$TXT" | grep -v '^$' | LC_ALL=C sort -u | wc -l) + 3))
check "every word and <s>, </s>, <unk> is a 1-gram ($V)" test "$(ngrams "$T/a.arpa" 1)" = "$V"
check "<s> has log10 probability 0 (lmplz)" grep -Eq '^0	<s>	-[0-9.]+$' "$T/a.arpa"
check "<unk> is listed" grep -Eq '^-[0-9.]+	<unk>	' "$T/a.arpa"
check "log10 values have 8 significant digits" awk -F'\t' '
    NF >= 2 && $1 ~ /^-?[0-9]/ { for (i = 1; i <= NF; i += 2) {
        v = $i; sub(/^-/, "", v); sub(/[eE].*/, "", v); sub(/\./, "", v); sub(/^0+/, "", v)
        if (length(v) > 8) exit 1; if (length(v) == 8) full++ } }
    END { exit !(full > 0) }' "$T/a.arpa"
expect 0 "--train FILE --arpa FILE" '' \
    sh -c "'$K' -o 3 --threads 1 --train '$TXT' --arpa '$T/b.arpa' >'$T/b.stdout'"
check "nothing on stdout with --arpa" test ! -s "$T/b.stdout"
check "the same file as from stdin" cmp -s "$T/a.arpa" "$T/b.arpa"
expect 0 "--threads 2" '' "$K" -o 3 --threads 2 --train "$TXT" --arpa "$T/t2.arpa"
check "--threads 1 and 2: the same bytes" cmp -s "$T/b.arpa" "$T/t2.arpa"
expect 0 "a text through a pipe" '' sh -c "cat '$TXT' | '$K' -o 3 --threads 2 -T '$T' >'$T/pipe.arpa'"
check "a pipe gives the same file" cmp -s "$T/a.arpa" "$T/pipe.arpa"
check "the copy of stdin is removed" test -z "$(ls "$T" | grep nglm-kn-stdin)"
expect 0 "--train -" '' sh -c "'$K' -o 3 --train - <'$TXT' >'$T/dash.arpa'"
check "--train - is stdin" cmp -s "$T/a.arpa" "$T/dash.arpa"
sed 1d "$TXT" >"$T/tail.txt"
"$K" -o 3 --quiet --train "$T/tail.txt" --arpa "$T/tail.arpa"
expect 0 "stdin read past its first line" '' \
    sh -c "{ read -r first; '$K' -o 3 >'$T/rest.arpa'; } <'$TXT'"
check "reads the text from there on" cmp -s "$T/tail.arpa" "$T/rest.arpa"
mkdir "$T/spill"
expect 0 "-S 1K -T DIR: counting spills" '' \
    "$K" -o 3 --threads 2 -S 1K -T "$T/spill" --train "$TXT" --arpa "$T/spill.arpa"
check "spilling gives the same bytes" cmp -s "$T/a.arpa" "$T/spill.arpa"
check "and leaves nothing in DIR" test -z "$(ls -A "$T/spill")"
expect 0 "lmplz's spellings (--text, --temp_prefix, --memory, --discount_fallback)" '' \
    "$K" --order 3 --text "$TXT" --temp_prefix "$T/spill" --memory 64K --discount_fallback \
    --arpa "$T/lmplz.arpa"
check "the same bytes (the fallback is not used where the formula works)" \
    cmp -s "$T/a.arpa" "$T/lmplz.arpa"

# ---------------------------------------------------------------- gzip
expect 0 "--arpa FILE.gz" '' "$K" -o 3 --quiet --train "$TXT" --arpa "$T/a.arpa.gz"
check "FILE.gz is gzip" gzip -t "$T/a.arpa.gz"
check "and zcat gives the plain file" sh -c "gzip -dc '$T/a.arpa.gz' | cmp -s - '$T/a.arpa'"
expect 0 "nglm-eval reads the .gz file" '' "$E" --digits 8 --model "$T/a.arpa.gz" "$TEST"
cp "$T/out" "$T/gz.eval"

# ---------------------------------------------------------------- --model
expect 0 "--arpa and --model" '' \
    "$K" -o 3 --quiet --train "$TXT" --arpa "$T/m.arpa" --model "$T/m.nglm"
check "the same ARPA file as without --model" cmp -s "$T/a.arpa" "$T/m.arpa"
"$E" --digits 8 --model "$T/a.arpa" "$TEST" >"$T/arpa.eval"
expect 0 "nglm-eval scores the model" '^0 zeroprobs' "$E" --digits 8 --model "$T/m.nglm" "$TEST"
cp "$T/out" "$T/model.eval"
check "the same sentences, words and OOVs" \
    test "$(head -1 "$T/model.eval")" = "$(head -1 "$T/arpa.eval")"
same_ppl "the model and the ARPA file: the same ppl" "$T/model.eval" "$T/arpa.eval"
check "the .gz file: the same report as the plain one" cmp -s "$T/gz.eval" "$T/arpa.eval"
check "the same ppl= at the default digits" \
    test "$("$E" --model "$T/m.nglm" "$TEST" | sed -n 's/.* ppl= \([^ ]*\) .*/\1/p')" = \
    "$("$E" --model "$T/a.arpa" "$TEST" | sed -n 's/.* ppl= \([^ ]*\) .*/\1/p')"
expect 0 "--model alone" '' sh -c "'$K' -o 3 --quiet --train '$TXT' --model '$T/m2.nglm' >'$T/m2.stdout'"
check "--model alone: nothing on stdout" test ! -s "$T/m2.stdout"
check "--model alone: the same model bytes" cmp -s "$T/m.nglm" "$T/m2.nglm"
"$K" -o 3 --quiet --threads 2 --train "$TXT" --model "$T/m3.nglm"
check "--threads 2: the same model bytes" cmp -s "$T/m.nglm" "$T/m3.nglm"
expect 0 "--arpa - with --model" '' \
    sh -c "'$K' -o 3 --quiet --train '$TXT' --arpa - --model '$T/m4.nglm' >'$T/m4.arpa'"
check "--arpa - writes stdout" cmp -s "$T/a.arpa" "$T/m4.arpa"
expect 0 "nglm-sample draws from the model" '' "$B/nglm-sample" --model "$T/m.nglm" -n 3

# ---------------------------------------------------------------- --prune
expect 0 "--prune 0 0 1" '' "$K" -o 3 --quiet --train "$TXT" --prune 0 0 1 --arpa "$T/p1.arpa"
expect 0 "--prune 0,0,1" '' "$K" -o 3 --quiet --train "$TXT" --prune 0,0,1 --arpa "$T/p2.arpa"
check "--prune 0 0 1 and 0,0,1: the same file" cmp -s "$T/p1.arpa" "$T/p2.arpa"
expect 0 "--prune before the other options" '' \
    "$K" --prune 0 0 1 -o 3 --quiet --train "$TXT" --arpa "$T/p3.arpa"
check "the same file" cmp -s "$T/p1.arpa" "$T/p3.arpa"
expect 0 "--prune=0,0,1" '' "$K" -o 3 --quiet --train "$TXT" --prune=0,0,1 --arpa "$T/p4.arpa"
check "--prune=0,0,1: the same file" cmp -s "$T/p1.arpa" "$T/p4.arpa"
check "a valid ARPA file" arpa_ok "$T/p1.arpa" 3
n3=$(ngrams "$T/a.arpa" 3)
n3p=$(ngrams "$T/p1.arpa" 3)
check "fewer 3-grams ($n3p of $n3)" test "$n3p" -gt 0 -a "$n3p" -lt "$n3"
check "the 1-grams and 2-grams are all kept" \
    test "$(ngrams "$T/p1.arpa" 1) $(ngrams "$T/p1.arpa" 2)" = \
    "$(ngrams "$T/a.arpa" 1) $(ngrams "$T/a.arpa" 2)"
expect 0 "the report says how many were pruned" "^3-grams $n3p \\(of $n3\\)  D1 " \
    "$K" -o 3 --train "$TXT" --prune 0 0 1 --arpa "$T/p5.arpa" --model "$T/p.nglm"
expect 0 "the pruned model scores the test text" '' "$E" --digits 8 --model "$T/p1.arpa" "$TEST"
cp "$T/out" "$T/p-arpa.eval"
finite_ppl "a finite perplexity" "$T/p-arpa.eval"
"$E" --digits 8 --model "$T/p.nglm" "$TEST" >"$T/p-model.eval"
same_ppl "pruned: the model and the ARPA file agree" "$T/p-arpa.eval" "$T/p-model.eval"
fails 2 "--prune 1: 1-grams cannot be pruned" "--prune: the 1-gram threshold must be 0" \
    "$K" -o 3 --train "$TXT" --prune 1
fails 2 "--prune 0 2 1: decreasing" "--prune: values must not decrease" \
    "$K" -o 3 --train "$TXT" --prune 0 2 1
fails 2 "--prune 0 0 x" "" "$K" -o 3 --train "$TXT" --prune 0 0 x
fails 2 "--prune 0 0 1.5" "--prune: '1\\.5' is not an integer" "$K" -o 3 --train "$TXT" --prune 0 0 1.5
fails 2 "--prune without a value" "^nglm-kn: --prune needs a value" "$K" -o 3 --train "$TXT" --prune

# ---------------------------------------------------------------- probabilities
# a small vocabulary (characters) makes the sums cheap to check in awk
"$B/nglm-gen" --quiet --tokens 3000 --seed 4 --prefix "$T/c"
expect 0 "--tokenize char" '' "$K" -o 3 --quiet --tokenize char --discount-fallback \
    --train "$T/c.train.txt" --arpa "$T/c.arpa"
check "every distribution sums to one" sums_to_one "$T/c.arpa"
expect 0 "pruned: --prune 0 1 1" '' "$K" -o 3 --quiet --tokenize char --discount-fallback \
    --prune 0 1 1 --train "$T/c.train.txt" --arpa "$T/cp.arpa"
check "pruned 2-grams and 3-grams" \
    test "$(ngrams "$T/cp.arpa" 2)" -lt "$(ngrams "$T/c.arpa" 2)" \
    -a "$(ngrams "$T/cp.arpa" 3)" -lt "$(ngrams "$T/c.arpa" 3)"
check "pruned: every distribution still sums to one" sums_to_one "$T/cp.arpa"

# by hand: one sentence "a"; with the fallback discounts 0.5 1 1.5, the
# 1-grams </s> and a have adjusted count 1 of Σ 2, γ = 0.5, |V| − 1 = 3:
# P(a) = 0.25 + 0.5/3 = 5/12, P(<unk>) = 1/6; P(a | <s>) = 0.5 + 0.5 P(a)
printf 'a\n' >"$T/a.txt"
expect 0 "one word, -o 1, --discount-fallback" '^1-grams 4  D1 0\.5  D2 1  D3\+ 1\.5  \(fallback\)$' \
    sh -c "'$K' -o 1 --discount-fallback --train '$T/a.txt' >'$T/a1.arpa'"
check "-o 1: P(a) = P(</s>) = 5/12, P(<unk>) = 1/6" \
    test "$(sed -n '/^\\1-grams:/,/^$/p' "$T/a1.arpa" | sed 1d)" = "$(printf '0\t<s>\n-0.38021124\t</s>\n-0.77815125\t<unk>\n-0.38021124\ta')"
expect 0 "one word, -o 2, --discount-fallback" '' \
    "$K" -o 2 --quiet --discount-fallback --train "$T/a.txt" --arpa "$T/a2.arpa" --model "$T/a2.nglm"
check "-o 2: P(a | <s>) = 17/24" grep -qx -- '-0.14976232	<s> a' "$T/a2.arpa"
check "-o 2: back-off of <s> 1/2" grep -qx -- '0	<s>	-0.30103' "$T/a2.arpa"
check "-o 2: sums to one" sums_to_one "$T/a2.arpa"
expect 0 "one word, -o 3 (<s> a </s>)" '' "$K" -o 3 --quiet --discount-fallback --train "$T/a.txt"
# by hand, the 2-gram discounts of 8 one-word sentences: n1 = 6, n2 = 2,
# n3 = 2, n4 = 0, Y = 0.6, D1 = 0.6, D2 = 0.2, D3+ = 3; P(a) = 3/28 and
# γ(<s>) = 5/8 give P(a | <s>) = 15/224
printf 'a\nb\nc\na\nb\na\nd\ne\n' >"$T/one.txt"
expect 0 "one-word sentences, -o 2" '^2-grams 10  D1 0\.6  D2 0\.2  D3\+ 3$' \
    sh -c "'$K' -o 2 --discount-fallback --train '$T/one.txt' >'$T/one.arpa'"
check "the discounts of the formula give P(a | <s>) = 15/224" \
    grep -qx -- '-1.1741568	<s> a' "$T/one.arpa"
check "and the back-off of <s> 5/8" grep -qx -- '0	<s>	-0.20411998' "$T/one.arpa"
check "and P(a) = 3/28" grep -qx -- '-0.97003678	a	0' "$T/one.arpa"
check "one-word sentences: sums to one" sums_to_one "$T/one.arpa"

# ---------------------------------------------------------------- bad usage
fails 2 "-o 0" "--order: '0' is out of range \\(1\\.\\.10\\)" "$K" -o 0 --train "$TXT"
fails 2 "-o 11" "--order: '11' is out of range" "$K" -o 11 --train "$TXT"
fails 2 "no -o" "the order is required: -o N" "$K" --train "$TXT"
fails 2 "-o without its value" "^nglm-kn: -o needs a value" "$K" --train "$TXT" -o
fails 2 "an unknown option" "unknown option '--frobnicate'" "$K" -o 3 --train "$TXT" --frobnicate
fails 2 "an extra argument" "unexpected argument 'extra'" "$K" -o 3 --train "$TXT" extra
fails 2 "--threads 0" "--threads: '0' is out of range" "$K" -o 3 --train "$TXT" --threads 0
fails 2 "--memory 0" "--memory: must be more than 0" "$K" -o 3 --train "$TXT" --memory 0
fails 2 "-S 0%" "--memory: '0%' is not a share of the memory" "$K" -o 3 --train "$TXT" -S 0%
fails 2 "--tokenize bogus" "--tokenize: " "$K" -o 3 --train "$TXT" --tokenize bogus
fails 2 "--progress bogus" "--progress: 'bogus'" "$K" -o 3 --train "$TXT" --progress bogus
expect 0 "--help" '^Usage: nglm-kn -o N' "$K" --help
check "--help documents the exit statuses" grep -q '^Exit status: 0 success, 1 failure' "$T/out"
expect 0 "--version" '^nglm-kn \(nglm\) [0-9]+\.[0-9]+' "$K" --version

# ---------------------------------------------------------------- bad texts
fails 1 "an empty stdin (pipe)" "^nglm-kn: stdin: no sentences" sh -c "printf '' | '$K' -o 3"
fails 1 "stdin from /dev/null" "^nglm-kn: stdin: no sentences" sh -c "'$K' -o 3 </dev/null"
printf '\n  \n\t\n\n' >"$T/blank.txt"
fails 1 "blank lines only" "blank\\.txt: no sentences" "$K" -o 3 --train "$T/blank.txt"
fails 1 "a missing --train file" "nope\\.txt: No such file" "$K" -o 3 --train "$T/nope.txt"
fails 1 "--train a directory" "is a directory" "$K" -o 3 --train "$T/spill"
printf 'a b\n' >"$T/ab.txt"
fails 1 "a text too small for the discounts" \
    "^nglm-kn: Kneser-Ney: .*1-grams.*--discount-fallback" "$K" -o 3 --train "$T/ab.txt"
expect 0 "the same with --discount-fallback" '' \
    "$K" -o 3 --quiet --discount-fallback --train "$T/ab.txt" --arpa "$T/ab.arpa" --model "$T/ab.nglm"
check "its distributions sum to one" sums_to_one "$T/ab.arpa"
printf 'a b\nb a\nc a b\n' >"$T/ab-test.txt"
expect 0 "it scores a test text (with an OOV)" '3 sentences, 7 words, 1 OOVs' \
    "$E" --digits 8 --model "$T/ab.arpa" "$T/ab-test.txt"
cp "$T/out" "$T/ab-arpa.eval"
finite_ppl "finitely" "$T/ab-arpa.eval"
"$E" --digits 8 --model "$T/ab.nglm" "$T/ab-test.txt" >"$T/ab-model.eval"
same_ppl "and its model agrees" "$T/ab-arpa.eval" "$T/ab-model.eval"
expect 0 "--discount-fallback 0.5 1 1.5" '' \
    "$K" -o 3 --quiet --train "$T/ab.txt" --discount-fallback 0.5 1 1.5 --arpa "$T/ab2.arpa"
check "equals the default fallback" cmp -s "$T/ab.arpa" "$T/ab2.arpa"
expect 0 "--discount-fallback 0.4" '^3-grams 2  D1 0\.4  D2 0\.4  D3\+ 0\.4  \(fallback\)$' \
    sh -c "'$K' -o 3 --train '$T/ab.txt' --discount-fallback 0.4 >/dev/null"
expect 0 "--discount-fallback before --train" '' \
    "$K" -o 3 --quiet --discount-fallback --train "$T/ab.txt" --arpa "$T/ab3.arpa"
check "the same file" cmp -s "$T/ab.arpa" "$T/ab3.arpa"
fails 2 "--discount-fallback 2 2 2 (D1 above 1)" "--discount-fallback: D1 = 2 is above 1" \
    "$K" -o 3 --train "$T/ab.txt" --discount-fallback 2 2 2
fails 2 "--discount-fallback 1 2.5 (D2 above 2)" "--discount-fallback: D2 = 2\\.5 is above 2" \
    "$K" -o 3 --train "$T/ab.txt" --discount-fallback 1 2.5
fails 2 "--discount-fallback 0.5 1 4 (out of range)" "--discount-fallback: '4' is out of range" \
    "$K" -o 3 --train "$T/ab.txt" --discount-fallback 0.5 1 4
fails 2 "a fourth fallback value" "unexpected argument '2'" \
    "$K" -o 3 --train "$T/ab.txt" --discount-fallback 0.5 1 1.5 2
fails 1 "-o 5 on one-word sentences" "no 4-grams.*order 5 .*at most 3" \
    "$K" -o 5 --train "$T/one.txt"
fails 1 "-o 5 on one-word sentences, with the fallback" "order 5 .*at most 3" \
    "$K" -o 5 --discount-fallback --train "$T/one.txt"

# invalid UTF-8 on line 6: the error names the file (or stdin) and the line
{ head -5 "$TXT"; printf 'bad \377\376 word\n'; sed 1,5d "$TXT"; } >"$T/bad.txt"
fails 1 "invalid UTF-8" "^nglm-kn: $T/bad\\.txt:6: invalid UTF-8" "$K" -o 3 --train "$T/bad.txt"
fails 1 "invalid UTF-8, --threads 2" "bad\\.txt:6: invalid UTF-8" \
    "$K" -o 3 --threads 2 --train "$T/bad.txt"
fails 1 "invalid UTF-8 on stdin names stdin" "^nglm-kn: <?stdin>?:6: invalid UTF-8" \
    sh -c "'$K' -o 3 <'$T/bad.txt'"
fails 1 "invalid UTF-8 through a pipe names stdin, not a temporary file" \
    "^nglm-kn: <?stdin>?:6: invalid UTF-8" sh -c "cat '$T/bad.txt' | '$K' -o 3 -T '$T/spill'"
check "the copy of stdin is removed after a failure" test -z "$(ls -A "$T/spill")"
expect 0 "--replace-invalid" '' "$K" -o 3 --quiet --replace-invalid --train "$T/bad.txt" \
    --arpa "$T/repl.arpa"
check "U+FFFD in the model" grep -q "$(printf '\357\277\275')" "$T/repl.arpa"

# literal sentence markers are ignored; a literal <unk> is a word
awk 'NR % 3 == 0 { $0 = "<s> " $0 } NR % 4 == 0 { $0 = $0 " </s>" }
     NR % 5 == 0 { $2 = $2 " </s> <s>" } 1' "$TXT" >"$T/marks.txt"
check "the marked text has markers" test "$(grep -c '<s>' "$T/marks.txt")" -gt 100
expect 0 "<s> and </s> inside sentences" '' "$K" -o 3 --quiet --train "$T/marks.txt" \
    --arpa "$T/marks.arpa"
check "are ignored: the same file" cmp -s "$T/a.arpa" "$T/marks.arpa"
printf 'a b\n<s> </s>\n' >"$T/empty-sent.txt"
expect 0 "a line of markers only" '' \
    sh -c "'$K' -o 2 --quiet --discount-fallback --train '$T/empty-sent.txt' >'$T/es.arpa'"
check "is an empty sentence (<s> </s>)" grep -q '	<s> </s>$' "$T/es.arpa"
printf 'a <unk> b\n' >"$T/unk.txt"
expect 0 "a literal <unk>" '' \
    sh -c "'$K' -o 2 --quiet --discount-fallback --train '$T/unk.txt' >'$T/unk.arpa'"
check "is an ordinary word: a <unk>" grep -q '	a <unk>$' "$T/unk.arpa"
check "and <unk> b" grep -q '	<unk> b$' "$T/unk.arpa"

# ---------------------------------------------------------------- outputs
fails 1 "--arpa a directory" "spill: is a directory" "$K" -o 3 --train "$TXT" --arpa "$T/spill"
fails 1 "--arpa in a missing directory" "nodir/x\\.arpa: cannot create a file in" \
    "$K" -o 3 --train "$TXT" --arpa "$T/nodir/x.arpa"
fails 1 "--model a directory" "is a directory" "$K" -o 3 --train "$TXT" --model "$T/spill"
fails 1 "--model in a missing directory" "nodir/x\\.nglm: cannot create" \
    "$K" -o 3 --train "$TXT" --model "$T/nodir/x.nglm"
fails 1 "the output is checked before any work (a missing text)" "nodir/x\\.arpa" \
    "$K" -o 3 --train "$T/nope.txt" --arpa "$T/nodir/x.arpa"
fails 1 "the output is checked before any work (empty stdin)" "nodir/x\\.arpa" \
    sh -c "'$K' -o 3 --arpa '$T/nodir/x.arpa' </dev/null"
fails 1 "a missing -T with a pipe" "cannot copy stdin to a temporary file in $T/nodir" \
    sh -c "cat '$TXT' | '$K' -o 3 -T '$T/nodir'"
if [ -w /dev/full ]; then
    fails 1 "stdout full" "error writing" sh -c "'$K' -o 3 --train '$TXT' >/dev/full"
fi

# an existing file that is not an ARPA file or a model is refused; with
# --force it is replaced by rename; a failure leaves an ARPA file alone
printf 'old\n' >"$T/keep.arpa"
ln "$T/keep.arpa" "$T/keep-link.arpa"
fails 2 "over a file that is not an ARPA file" \
    "refusing to replace $T/keep\\.arpa \\(--arpa\\): not an ARPA file \\(use --force\\)" \
    "$K" -o 3 --quiet --train "$TXT" --arpa "$T/keep.arpa"
check "the refused file is untouched" test "$(cat "$T/keep.arpa")" = old
fails 2 "a model over a text file" "refusing to replace $T/keep\\.arpa \\(--model\\): not an nglm model" \
    "$K" -o 3 --quiet --train "$TXT" --model "$T/keep.arpa"
fails 2 "--arpa is the training text" "--arpa $TXT is the same file as --train $TXT" \
    "$K" -o 3 --quiet --train "$TXT" --arpa "$TXT"
fails 2 "--arpa and --model are the same file" "are the same file" \
    "$K" -o 3 --quiet --train "$TXT" --arpa "$T/same" --model "$T/same"
expect 0 "--force: over an existing file" '' "$K" -o 3 --quiet --force --train "$TXT" \
    --arpa "$T/keep.arpa"
check "the file is the new model" cmp -s "$T/a.arpa" "$T/keep.arpa"
check "written beside it and renamed (a hard link keeps the old text)" \
    test "$(cat "$T/keep-link.arpa")" = old
expect 0 "over an ARPA file: no --force needed" '' "$K" -o 3 --quiet --train "$TXT" \
    --arpa "$T/keep.arpa"
"$K" -o 3 --quiet --train "$TXT" --arpa "$T/keep.arpa.gz" --model "$T/keep.nglm"
cp "$T/keep.arpa" "$T/keep.arpa.orig"
sums=$(cd "$T" && cksum keep.arpa keep.arpa.gz keep.nglm)
fails 1 "a failed estimate (--arpa)" "--discount-fallback" \
    "$K" -o 3 --train "$T/ab.txt" --arpa "$T/keep.arpa"
fails 1 "a failed estimate (--arpa .gz, --model)" "--discount-fallback" \
    "$K" -o 3 --train "$T/ab.txt" --arpa "$T/keep.arpa.gz" --model "$T/keep.nglm"
check "leaves the existing files untouched" test "$(cd "$T" && cksum keep.arpa keep.arpa.gz keep.nglm)" = "$sums"
check "and no temporary files behind" test -z "$(ls "$T" | grep '\.tmp')"

# ---------------------------------------------------------------- report
expect 0 "--quiet" '' sh -c "'$K' -o 3 --quiet --train '$TXT' >'$T/q.arpa'"
check "--quiet: stderr is empty" test ! -s "$T/out"
check "--quiet: the same file" cmp -s "$T/a.arpa" "$T/q.arpa"
expect 0 "the report" '' sh -c "'$K' -o 3 --train '$TXT' >'$T/r.arpa'"
cp "$T/out" "$T/report"
sents=$(grep -c . "$TXT")
words=$(wc -w <"$TXT" | tr -d ' ')
check "names the text and counts sentences, words, tokens, vocabulary" \
    grep -qx "nglm-kn: $TXT: $sents sentences, $words words, $((sents + words)) tokens, vocabulary $V (specials included)" "$T/report"
check "one line per order with D1, D2, D3+" \
    test "$(grep -Ec '^[1-3]-grams [0-9]+  D1 [0-9.]+  D2 [0-9.]+  D3\+ [0-9.]+$' "$T/report")" = 3
check "the report's counts are the ARPA file's" \
    test "$(sed -n 's/^\([1-3]\)-grams \([0-9]*\) .*/\1=\2/p' "$T/report")" = \
    "$(sed -n 's/^ngram //p' "$T/r.arpa")"
check "says what it wrote" grep -q '^nglm-kn: wrote the ARPA model to stdout: ' "$T/report"
check "nothing else (no progress in a short run)" test "$(wc -l <"$T/report")" = 5
expect 0 "--progress always" '^reading ' sh -c "'$K' -o 3 --quiet --progress always --train '$TXT' >/dev/null"
finish
