#!/bin/sh
# cli_interrupt.sh — SIGINT or SIGTERM at any moment of nglm-train ends it
# with one line on stderr and 128 + the signal, and leaves no MODEL.lock:
# before training (counting), with --no-checkpoint, and (the trainer's own
# handling) in training; a run resumed in an epoch's middle reports the
# rate that epoch began with.
. "$(dirname "$0")/cli_lib.sh"
"$B/nglm-gen" --quiet --tokens 300000 --seed 10 --prefix "$T/c"
# run_sig SIGNAL DELAY DESC ARGS...: nglm-train ARGS, SIGNAL after DELAY s
run_sig() {
    sig=$1 delay=$2 what=$3
    shift 3
    rm -f "$T/m.nglm" "$T/m.nglm.lock" "$T/m.nglm.ckpt"
    "$B/nglm-train" --threads 1 --train "$T/c.train.txt" --valid "$T/c.valid.txt" \
        --model "$T/m.nglm" "$@" >"$T/o" 2>"$T/e" &
    pid=$!
    if [ "$delay" = training ]; then # until epoch 0 (Kneser-Ney) is reported
        i=0
        while [ $i -lt 600 ] && ! grep -q '^epoch' "$T/o" 2>/dev/null; do
            sleep 0.1
            i=$((i + 1))
        done
        sleep 1 # into the epoch, where the linear schedule's rate has fallen
    else
        sleep "$delay"
    fi
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    want=130
    [ "$sig" = TERM ] && want=143
    if grep -q '^saved ' "$T/o"; then
        ok "$what (finished before the signal: the machine is fast)"
        return
    fi
    check "$what: exit $want ($rc)" test "$rc" = "$want"
    check "$what: one line on stderr" test "$(grep -c . "$T/e")" = 1
    check "$what: it says so" grep -q "interrupted" "$T/e"
    check "$what: no lock left" test ! -e "$T/m.nglm.lock"
}
run_sig INT 0.1 "SIGINT while counting" --order 4
run_sig TERM 0.1 "SIGTERM while counting" --order 4
run_sig INT 0.1 "SIGINT while counting, --no-checkpoint" --order 4 --no-checkpoint
grep -q "before training began: nothing was saved" "$T/e" || grep -q '^saved ' "$T/o" ||
    grep -q "no-checkpoint" "$T/e"
check "before training, the line says nothing was saved" test $? = 0
run_sig INT training "SIGINT in training" --order 3 --epochs 2
check "in training, the line gives the command that resumes" \
    sh -c "grep -q -- '--resume' '$T/e' || grep -q '^saved ' '$T/o'"
# the resumed epoch reports the rate it began with, as the run that was
# never stopped does (not the rate reached where it stopped)
if [ -e "$T/m.nglm.ckpt" ]; then
    "$B/nglm-train" --threads 1 --train "$T/c.train.txt" --valid "$T/c.valid.txt" \
        --model "$T/m.nglm" --order 3 --epochs 2 --resume >"$T/resumed" 2>&1
    "$B/nglm-train" --threads 1 --train "$T/c.train.txt" --valid "$T/c.valid.txt" \
        --model "$T/whole.nglm" --order 3 --epochs 2 >"$T/whole" 2>&1
    # the first epoch the resumed run prints (1 or 2: where the signal
    # landed), and its rate in both runs
    e=$(sed -n 's/^epoch  *\([0-9]*\)  lr .*/\1/p' "$T/resumed" | head -n 1)
    lr() { sed -n "s/^epoch  *${e:-1}  lr \\([^ ]*\\) .*/\\1/p" "$1"; }
    check "a resumed epoch prints the rate it began with (epoch ${e:-?}: $(lr "$T/resumed"), $(lr "$T/whole"))" \
        test -n "$(lr "$T/whole")" -a "$(lr "$T/resumed")" = "$(lr "$T/whole")"
    check "and the same model as the run never stopped" cmp -s "$T/m.nglm" "$T/whole.nglm"
fi
finish
