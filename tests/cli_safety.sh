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

finish
