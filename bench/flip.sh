#!/usr/bin/env bash
# bench/flip.sh — a damaged model file is never scored silently
# (doc/model-format.md, "Block checksums"): flips one byte at every STEP
# bytes (default 4 KiB) of a model, one position at a time, and scores a
# text with nglm-eval --per-word --digits 17 (mapped, no --verify) each
# time.  Every position must be refused (exit 1, one error line) or scored
# exactly as the undamaged file; prints the counts and the positions that
# were neither, and exits 1 if there are any.  Not part of `make check`.
#
# Usage: bench/flip.sh [BUILD_DIR]
#   MODEL   the model (default: the default PTB model, trained into WORK)
#   TEXT    what to score (default: the first 20 lines of ptb.test.txt)
#   STEP    bytes between flipped positions (default 4096)
#   PTB     the PTB directory (default ../shared/data/ptb)
#   WORK    scratch directory (default a fresh one under /tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/..}" && pwd)
ptb=${PTB:-$here/../../shared/data/ptb}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
model=${MODEL:-$work/ptb.nglm}
[ -s "$model" ] || "$build/nglm-train" --train "$ptb/ptb.train.txt" --valid "$ptb/ptb.valid.txt" \
    --threads 2 --model "$model" --no-checkpoint --quiet >/dev/null
text=${TEXT:-$work/text.txt}
[ -n "${TEXT:-}" ] || head -20 "$ptb/ptb.test.txt" >"$text"
cp "$model" "$work/flip.nglm"
python3 - "$build/nglm-eval" "$work/flip.nglm" "$text" "${STEP:-4096}" <<'PY'
import os, subprocess, sys
evalbin, path, text, step = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def run():
    p = subprocess.run([evalbin, '--model', path, '--per-word', '--digits', '17', text],
                       capture_output=True)
    return p.returncode, p.stdout, p.stderr
rc0, out0, err0 = run()
if rc0 != 0:
    sys.exit('the undamaged model fails: ' + err0.decode())
size = os.path.getsize(path)
fd = os.open(path, os.O_RDWR)
refused = same = 0
wrong = []
for pos in range(0, size, step):
    b = os.pread(fd, 1, pos)
    os.pwrite(fd, bytes([b[0] ^ 0x5a]), pos)
    rc, out, err = run()
    os.pwrite(fd, b, pos)
    if rc == 1 and err.count(b'\n') == 1:
        refused += 1
    elif rc == 0 and out == out0:
        same += 1
    else:
        wrong.append((pos, rc, err.decode(errors='replace').strip()[:160]))
n = refused + same + len(wrong)
print(f'{n} positions (every {step} bytes of {size}): {refused} refused, {same} scored as '
      f'the undamaged file, {len(wrong)} neither')
for w in wrong[:20]:
    print('  byte %d: exit %d %s' % w)
sys.exit(1 if wrong else 0)
PY
