#!/bin/sh
# cli_mpi.sh — MPI data-parallel training (./configure --with-mpi; run by
# `make check` only then).  Under mpirun the model is the same, bit for bit,
# as one process's with the same options (default skip-gram features, n-gram
# only, averaging, more threads per rank, three ranks, mid-epoch checkpoints),
# only rank 0 prints and writes files, and a run stopped under MPI resumes,
# under MPI or in one process, to the same model.
. "$(dirname "$0")/cli_lib.sh"
TR=$B/nglm-train
: "${MPIRUN:=mpirun}"
if ! command -v "$MPIRUN" >/dev/null 2>&1; then
    echo "SKIP: $MPIRUN not found"
    exit 77
fi
# Open MPI refuses to run as root (containers, CI) unless told it may
OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
MPI2="$MPIRUN -np 2 --oversubscribe"
MPI3="$MPIRUN -np 3 --oversubscribe"
"$B/nglm-gen" --quiet --tokens 20000 --seed 3 --prefix "$T/small"
# small batches: many steps, so the ranks' shares meet often
SMALL="--order 3 --epochs 3 --batch 200 --min-gain 0 --train $T/small.train.txt --valid $T/small.valid.txt"

# ------------------------------------------------ the same model as one process
expect 0 "one process, default features" 'saved' "$TR" $SMALL --threads 1 --model "$T/s.nglm"
cp "$T/out" "$T/s.out"
expect 0 "2 ranks, default features (skip-grams)" 'saved' \
    $MPI2 "$TR" $SMALL --threads 1 --model "$T/p.nglm" --log "$T/p.log"
cp "$T/out" "$T/p.out"
check "2 ranks: the same model bytes" cmp -s "$T/s.nglm" "$T/p.nglm"
check "only rank 0 reports the saved model" test "$(grep -c '^saved' "$T/p.out")" = 1
check "only rank 0 prints the epochs" \
    test "$(grep -c '^epoch' "$T/p.out")" = "$(grep -c '^epoch' "$T/s.out")"
check "only rank 0 prints the vocabulary" test "$(grep -c '^vocabulary' "$T/p.out")" = 1
check "the report says how many ranks" grep -q 'x 2 MPI ranks' "$T/p.out"
check "the same epoch perplexities" \
    test "$(grep '^epoch' "$T/s.out" | sed 's/.*valid ppl \([0-9.]*\).*/\1/')" = \
         "$(grep '^epoch' "$T/p.out" | sed 's/.*valid ppl \([0-9.]*\).*/\1/')"
check "--log: one line per epoch, from rank 0" \
    test "$(wc -l <"$T/p.log")" = "$(grep -c '^epoch' "$T/s.out")"
check "no checkpoint left" test ! -e "$T/p.nglm.ckpt"

expect 0 "2 ranks x 2 threads" 'saved' $MPI2 "$TR" $SMALL --threads 2 --model "$T/p2.nglm"
check "2 ranks x 2 threads: the same model bytes" cmp -s "$T/s.nglm" "$T/p2.nglm"
expect 0 "3 ranks" 'saved' $MPI3 "$TR" $SMALL --threads 1 --model "$T/p3.nglm"
check "3 ranks: the same model bytes" cmp -s "$T/s.nglm" "$T/p3.nglm"

"$TR" $SMALL --threads 1 --quiet --features ngram --model "$T/sn.nglm" >/dev/null
expect 0 "2 ranks, --features ngram" 'saved' \
    $MPI2 "$TR" $SMALL --threads 1 --features ngram --model "$T/pn.nglm"
check "--features ngram: the same model bytes" cmp -s "$T/sn.nglm" "$T/pn.nglm"

"$TR" $SMALL --threads 1 --quiet --average --order 4 --model "$T/sa.nglm" >/dev/null
expect 0 "2 ranks, --average --order 4" 'saved' \
    $MPI2 "$TR" $SMALL --threads 1 --average --order 4 --model "$T/pa.nglm"
check "--average: the same model bytes" cmp -s "$T/sa.nglm" "$T/pa.nglm"

# a checkpoint every few milliseconds merges the ranks' states mid-epoch
expect 0 "2 ranks, checkpoints within epochs" 'saved' \
    $MPI2 "$TR" $SMALL --threads 1 --checkpoint-minutes 0.0001 --model "$T/pc.nglm"
check "mid-epoch checkpoints: the same model bytes" cmp -s "$T/s.nglm" "$T/pc.nglm"

# divergences: the same rollbacks on every rank.  How often this rate
# diverges (here twice) hangs on the last bits of exp() on the CPU, and it
# may fail after three; the ranks must do what one process does either way.
"$TR" $SMALL --threads 1 --lr 20 --model "$T/sd.nglm" >"$T/sd.out" 2>&1
src=$?
$MPI2 "$TR" $SMALL --threads 1 --lr 20 --model "$T/pd.nglm" >"$T/pd.out" 2>&1
prc=$?
check "a high rate diverges and rolls back" grep -q 'diverged' "$T/sd.out"
check "2 ranks: the exit status of one process ($src)" test "$src" = "$prc"
check "2 ranks: the same rollbacks" \
    test "$(grep -c 'rolled back' "$T/sd.out")" = "$(grep -c 'rolled back' "$T/pd.out")"
if [ "$src" = 0 ]; then
    check "rollbacks: the same model bytes" cmp -s "$T/sd.nglm" "$T/pd.nglm"
fi

# every rank reads the texts: stdin cannot be one
"$TR" --write-vocab "$T/vocab.txt" $SMALL --threads 1 --quiet --epochs 1 --model "$T/v.nglm" >/dev/null
expect 2 "--train - is refused under MPI" "stdin.*under MPI" \
    sh -c "$MPI2 '$TR' $SMALL --train - --vocab '$T/vocab.txt' --model '$T/x.nglm' <'$T/small.train.txt'"

# ---------------------------------------------------------- stop and resume
expect 0 "2 ranks, --stop-after 1" 'stopped' \
    $MPI2 "$TR" $SMALL --threads 1 --stop-after 1 --model "$T/r.nglm"
check "one stop message" test "$(grep -c 'resume with' "$T/out")" = 1
check "the checkpoint is left" test -s "$T/r.nglm.ckpt"
cp "$T/r.nglm.ckpt" "$T/r1.nglm.ckpt"
expect 0 "resumed under 2 ranks" 'saved' \
    $MPI2 "$TR" $SMALL --threads 1 --resume --model "$T/r.nglm"
check "resumed under MPI: the same model bytes" cmp -s "$T/s.nglm" "$T/r.nglm"
expect 0 "an MPI checkpoint resumed in one process" 'saved' \
    "$TR" $SMALL --threads 2 --resume --model "$T/r1.nglm"
check "resumed in one process: the same model bytes" cmp -s "$T/s.nglm" "$T/r1.nglm"

finish
