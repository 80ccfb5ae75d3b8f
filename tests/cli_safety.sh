#!/bin/bash
# cli_safety.sh — paths as an adversary gives them (doc/reliability.md):
# every output option of every program written through symbolic links
# (never replacing the link), refused when it names a process's open file,
# an input, a loop or a device; model inputs that are FIFOs or devices
# refused or streamed without ever blocking.  Every refusal is one line on
# stderr and leaves the files as they were.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
X=$B/nglm-export
K=$B/nglm-kn
G=$B/nglm-gen
E=$B/nglm-eval
SA=$B/nglm-sample
"$G" --quiet --tokens 3000 --seed 5 --prefix "$T/s"
TXT=$T/s.train.txt
RUN="--order 2 --epochs 1 --threads 1 --quiet"
"$TR" $RUN --train "$TXT" --model "$T/base.nglm" >/dev/null
"$K" -o 3 --discount-fallback --train "$TXT" --arpa "$T/base.arpa" 2>/dev/null
cp "$TXT" "$T/train.orig"

ino() { stat -c %i "$1"; }

# through_links NAME KIND CMD... : CMD with @OUT@ standing for the output
# path, run against
#   a link to a file nglm wrote, a link to a link (the target is replaced
#   by a new file and both links stay links),
#   a dangling link (its target is created),
#   a link to /proc/self/fd/1 in a private directory, a link to the input,
#   a hard link to the input, a link loop (refused: one line, exit != 0,
#   the input unchanged).
through_links() {
    name=$1
    shift
    d=$T/links.$name
    rm -rf "$d"
    mkdir -p "$d/store"
    run_out() { # run_out OUT: the command with @OUT@ replaced
        o=$1
        set -- $cmd
        args=
        for a; do
            [ "$a" = @OUT@ ] && a=$o
            args="$args $a"
        done
        $args
    }
    cmd="$*"
    run_out "$d/store/real" >/dev/null 2>&1
    check "$name: a plain path works" test -s "$d/store/real"
    ln -s store/real "$d/link"
    ln -s link "$d/link2"
    before=$(ino "$d/store/real")
    run_out "$d/link2" >/dev/null 2>"$T/err"
    check "$name: through a link to a link: exit 0" test $? = 0
    check "$name: the links stay links" test -L "$d/link" -a -L "$d/link2"
    check "$name: the target was replaced" test "$(ino "$d/store/real")" != "$before" \
        -a -s "$d/store/real"
    ls "$d/store" | grep -q tmp && bad "$name: a temporary file was left in store/"
    ln -s store/new "$d/dangling"
    run_out "$d/dangling" >/dev/null 2>&1
    check "$name: a dangling link: its target is created" test -L "$d/dangling" -a \
        -s "$d/store/new"
    mkdir "$d/private"
    ln -s /proc/self/fd/1 "$d/private/fd1"
    printf 'keep me\n' >"$d/stdout.txt"
    expect_error "$name: a link to /proc/self/fd/1 is refused" "process's open file" \
        run_out "$d/private/fd1" 
    # (expect_error sends stdout to its own file: run again into ours)
    run_out "$d/private/fd1" >"$d/stdout.txt" 2>/dev/null
    check "$name: stdout's file is not replaced" test "$(cat "$d/stdout.txt")" = "" -o \
        "$(cat "$d/stdout.txt")" = "keep me"
    check "$name: the /proc link stays" test -L "$d/private/fd1"
    ln -s "$TXT" "$d/to_input"
    expect_error "$name: a link to the input is refused" "same file|refusing" \
        run_out "$d/to_input"
    ln "$TXT" "$d/hard_input"
    expect_error "$name: a hard link to the input is refused" "same file|refusing" \
        run_out "$d/hard_input"
    ln -s loop_b "$d/loop_a"
    ln -s loop_a "$d/loop_b"
    expect_error "$name: a link loop is refused" "too many levels of symbolic links" \
        run_out "$d/loop_a"
    check "$name: the input is unchanged" cmp -s "$TXT" "$T/train.orig"
}

through_links train-model "$TR" $RUN --train "$TXT" --model @OUT@

through_links train-vocab "$TR" $RUN --train "$TXT" --model "$T/v.nglm" --write-vocab @OUT@
through_links train-plot "$TR" $RUN --train "$TXT" --valid "$T/s.valid.txt" \
    --model "$T/p.nglm" --plot @OUT@
through_links kn-arpa "$K" -o 2 --discount-fallback --train "$TXT" --arpa @OUT@
through_links kn-model "$K" -o 2 --discount-fallback --train "$TXT" --model @OUT@
through_links export-arpa "$X" --model "$T/base.nglm" -o @OUT@
through_links export-model "$X" --from-arpa "$T/base.arpa" -o @OUT@

# nglm-gen's files: PREFIX.train.txt through a link
mkdir -p "$T/gen/store"
"$G" --quiet --tokens 1000 --seed 1 --prefix "$T/gen/store/g"
ln -s store/g.train.txt "$T/gen/g.train.txt"
before=$(ino "$T/gen/store/g.train.txt")
expect 0 "gen: --force through a link" "" "$G" --quiet --tokens 1000 --seed 2 \
    --prefix "$T/gen/g" --force
check "gen: the link stays a link" test -L "$T/gen/g.train.txt"
check "gen: its target was replaced" test "$(ino "$T/gen/store/g.train.txt")" != "$before"

# the log streams: through a link it is written in place, the link stays
ln -s real.log "$T/link.log"
expect 0 "train --log through a dangling link" "" "$TR" $RUN --train "$TXT" \
    --valid "$T/s.valid.txt" --model "$T/l.nglm" --log "$T/link.log"
check "train --log: the link stays, its target holds the log" test -L "$T/link.log" -a \
    -s "$T/real.log"

# devices: /dev/null is a sink, a FIFO or another device is refused
expect 0 "train --model /dev/null: a sink" "" "$TR" $RUN --train "$TXT" --model /dev/null
check "no lock file beside /dev/null" test ! -e /dev/null.lock
mkfifo "$T/out.fifo"
expect_error "train --model FIFO is refused" "not a regular file" \
    "$TR" $RUN --train "$TXT" --model "$T/out.fifo"
expect_error "kn --arpa FIFO is refused" "not a regular file" \
    "$K" -o 2 --discount-fallback --train "$TXT" --arpa "$T/out.fifo"
expect_error "export -o /dev/full is refused" "not a regular file" \
    "$X" --model "$T/base.nglm" -o /dev/full

# ---------------------------------------------------------------- special files as inputs
# a FIFO with no writer is never waited for (timeout: a hang fails the
# test); one with a writer is read as an ARPA stream, the sniffing of the
# format taking nothing from it
mkfifo "$T/in.fifo"
"$K" -o 2 --discount-fallback --train "$TXT" --arpa "$T/k2.arpa" 2>/dev/null
for c in "$E --model $T/in.fifo $T/s.test.txt" "$SA --model $T/in.fifo" \
         "$E --model $T/base.nglm --mix $T/in.fifo $T/s.test.txt" \
         "$X --from-arpa $T/in.fifo -o $T/fifo.nglm"; do
    expect_error "no writer: $(basename "${c%% *}") ${c#* } returns" "FIFO that gave nothing" \
        timeout 20 $c
done
expect_error "a device as a model is refused" "not a regular file \\(a character device\\)" \
    timeout 20 "$E" --model /dev/zero "$T/s.test.txt"
expect_error "a directory as a model is refused" "is a directory" \
    timeout 20 "$E" --model "$T" "$T/s.test.txt"
"$E" --model "$T/k2.arpa" "$T/s.test.txt" >"$T/direct.txt"
timeout 20 "$E" --model <(cat "$T/k2.arpa") "$T/s.test.txt" >"$T/piped.txt"
check "an ARPA file through a pipe scores as the file" cmp -s "$T/direct.txt" "$T/piped.txt"
expect 0 "export --from-arpa reads a pipe" "" timeout 20 "$X" --from-arpa <(cat "$T/k2.arpa") \
    -o "$T/piped.nglm"
expect_error "a native model through a pipe: told to give the file" "give the file itself" \
    timeout 20 "$E" --model <(cat "$T/base.nglm") "$T/s.test.txt"

# ---------------------------------------------------------------- damaged model files
# one flipped byte anywhere in a model: refused (one line naming the file
# and the bytes) or scored exactly as the undamaged file; the build's own
# models carry block checksums, verified on first use without --verify
"$E" --model "$T/base.nglm" --per-word --digits 17 "$T/s.test.txt" >"$T/good.txt"
size=$(stat -c %s "$T/base.nglm")
refused=0 same=0 wrong=0 pos=0
step=$((size / 60))
while [ $pos -lt "$size" ]; do
    cp "$T/base.nglm" "$T/flip.nglm"
    byte=$(od -An -tu1 -j $pos -N1 "$T/flip.nglm" | tr -d ' ')
    printf "\\$(printf '%03o' $((byte ^ 90)))" | dd of="$T/flip.nglm" bs=1 seek=$pos \
        conv=notrunc 2>/dev/null
    "$E" --model "$T/flip.nglm" --per-word --digits 17 "$T/s.test.txt" >"$T/got.txt" 2>"$T/err"
    rc=$?
    if [ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ]; then
        refused=$((refused + 1))
    elif [ $rc = 0 ] && cmp -s "$T/good.txt" "$T/got.txt"; then
        same=$((same + 1))
    else
        wrong=$((wrong + 1))
        echo "byte $pos: exit $rc $(head -c 300 "$T/err")"
    fi
    pos=$((pos + step))
done
check "a flipped byte: $refused refused, $same scored as the sound file, $wrong neither" \
    test $wrong = 0 -a $refused -gt 0
cp "$T/base.nglm" "$T/w.nglm"
at=$((size - 5000))
printf '\377' | dd of="$T/w.nglm" bs=1 seek=$at conv=notrunc 2>/dev/null
expect_error "a damaged block: one line naming the file and its bytes" \
    "w.nglm: bytes [0-9]+\\.\\.[0-9]+ \\(block [0-9]+ of 64 KiB\\) are damaged|w.nglm: BLOCKS section" \
    "$E" --model "$T/w.nglm" "$T/s.test.txt"
# the checksum table itself damaged (its last byte)
cp "$T/base.nglm" "$T/t.nglm"
printf '\125' | dd of="$T/t.nglm" bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
expect_error "a damaged checksum table is refused" "table of block checksums .* is damaged" \
    "$E" --model "$T/t.nglm" "$T/s.test.txt"
expect_error "--verify still checks the whole file" "checksum mismatch" \
    "$E" --verify --model "$T/t.nglm" "$T/s.test.txt"
# an old file (its BLOCKS section renamed away, as before they existed)
# loads as before; --upgrade gives it block checksums again
python3 - "$T/base.nglm" "$T/old.nglm" <<'PY' || cp "$T/base.nglm" "$T/old.nglm"
import struct, sys, zlib
d = bytearray(open(sys.argv[1], 'rb').read())
n = struct.unpack_from('<I', d, 20)[0]
for i in range(n):
    if struct.unpack_from('<I', d, 40 + 24 * i)[0] == 8:
        struct.pack_into('<I', d, 40 + 24 * i, 99)
struct.pack_into('<I', d, 32, 0)
struct.pack_into('<I', d, 32, zlib.crc32(bytes(d)) & 0xffffffff)
open(sys.argv[2], 'wb').write(d)
PY
"$E" --model "$T/old.nglm" --per-word --digits 17 "$T/s.test.txt" >"$T/old.txt"
check "a model without block checksums scores as before" cmp -s "$T/good.txt" "$T/old.txt"
expect 0 "nglm-export --upgrade rewrites it" "" "$X" --upgrade "$T/old.nglm"
"$E" --model "$T/old.nglm" --per-word --digits 17 "$T/s.test.txt" >"$T/up.txt"
check "the upgraded model scores the same" cmp -s "$T/good.txt" "$T/up.txt"
check "and is the file nglm writes today" cmp -s "$T/base.nglm" "$T/old.nglm"
# a model replaced while mapped: the mapping keeps the old file (a
# replacement is a rename, never a write into the mapped inode)
cp "$T/base.nglm" "$T/live.nglm"
(sleep 1; "$TR" $RUN --order 3 --train "$TXT" --model "$T/live.nglm" >/dev/null) &
{ cat "$T/s.test.txt"; sleep 3; cat "$T/s.test.txt"; } | "$E" --model "$T/live.nglm" \
    --per-sentence --digits 17 - >"$T/live.txt" 2>&1
wait
"$E" --model "$T/base.nglm" --per-sentence --digits 17 - <"$T/s.test.txt" >"$T/once.txt"
check "replaced while mapped: scored to the end" test "$(grep -c '^sentence' "$T/live.txt")" -ge \
    $((2 * $(grep -c '^sentence' "$T/once.txt")))
# (nglm-eval reads all of its text first: it scores after the replacement)
n=$(grep -c '^sentence' "$T/once.txt")
grep '^sentence' "$T/live.txt" | head -n "$n" >"$T/live.s"
grep '^sentence' "$T/once.txt" >"$T/once.s"
check "... with the old model's scores, after the replacement" cmp -s "$T/live.s" "$T/once.s"

# ---------------------------------------------------------------- numbers and words
printf '\\data\\\nngram 1=4\n\n\\1-grams:\n-1.0\t</s>\n-99\t<s>\n-1e308\ta\n-0.5\tb\n\n\\end\\\n' \
    >"$T/z.arpa"
printf 'a b\nb\n' >"$T/z.txt"
expect 0 "a log10 probability of -1e308 is a zero probability" "^1 zeroprobs, logprob= -3.00 " \
    "$E" --model "$T/z.arpa" "$T/z.txt"
cp "$T/z.arpa" "$T/z2.arpa" # a mixture names each file once
expect 0 "... and the same through --mix --lambda 0" "^1 zeroprobs, logprob= -3.00 " \
    "$E" --model "$T/z.arpa" --mix "$T/z2.arpa" --lambda 0 "$T/z.txt"
sed 's/^-0.5/-0x1p1/' "$T/z.arpa" >"$T/hex.arpa"
expect_error "a hexadecimal float is not an ARPA probability" "hex.arpa:8: bad log10 probability" \
    "$E" --model "$T/hex.arpa" "$T/z.txt"
printf '\\data\\\nngram 1=4\n\n\\1-grams:\n-1.0\t</s>\n-99\t<s>\n-1\t\377\376\n-0.5\tb\n\n\\end\\\n' \
    >"$T/u.arpa"
expect_error "an ARPA word that is not UTF-8 is refused" "u.arpa:7: .* not UTF-8" \
    "$E" --model "$T/u.arpa" "$T/z.txt"
expect_error "... by nglm-export --from-arpa too" "u.arpa:7: .* not UTF-8" \
    "$X" --from-arpa "$T/u.arpa" -o "$T/u.nglm"
expect_error "--temperature 1e-310: too close to 0, not 'not a number'" "too close to 0" \
    "$SA" --model "$T/base.nglm" --temperature 1e-310
expect_error "-n 99999999999999999999: out of range, not 'not an integer'" "out of range" \
    "$SA" --model "$T/base.nglm" -n 99999999999999999999
expect_error "--max-memory 1: no absurd cutoffs suggested" "needs .* even with unigrams alone" \
    "$TR" $RUN --train "$TXT" --model "$T/mm.nglm" --max-memory 1
grep -q "699912" "$T/err" && bad "--max-memory 1 suggests huge cutoffs"

# ---------------------------------------------------------------- no search permission
# the tests run as root, whom no permission stops: run the programs as
# nobody (setpriv) on paths through $T, a 0700 directory of root's
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1 &&
   setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null &&
   setpriv --reuid=65534 --regid=65534 --clear-groups "$X" --version >/dev/null 2>&1; then
    chmod 700 "$T"
    NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
    expect_error "a model through a directory without search permission" \
        "base.nglm: Permission denied" sh -c "$NOBODY '$E' --model '$T/base.nglm' - <'$T/s.test.txt'"
    expect_error "an output through a directory without search permission" "Permission denied" \
        $NOBODY "$X" --model /dev/null -o "$T/x.arpa"
    check "nothing was written" test ! -e "$T/x.arpa"
else
    echo "SKIP: no search permission (not root, or no setpriv, or nobody cannot run the build)"
fi

finish
