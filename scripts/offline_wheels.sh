#!/usr/bin/env bash
# Bring flops-fit's Python dependencies to a machine with no package index (an air-gapped GPU node).
#
#   1. on the offline machine:   python3 -m pip list --format=freeze > have.txt   (and note `python3 --version`)
#   2. here, from the repository root, with the project's venv active (it reads that venv's `pip list`):
#          scripts/offline_wheels.sh have.txt [3.12]      # writes .whl/ (git-ignored) and .whl/activate.sh
#   3. copy the checkout with .whl/ to the offline machine; there, from the repository root:
#          . .whl/activate.sh && snakemake --cores 16 --config preset=gpu
#
# Only packages missing from have.txt are fetched (torch, CUDA and triton wheels never: use the machine's own).
# activate.sh installs the wheels into $FF_SITE (default /tmp/ff-site) without an index, puts them on
# PYTHONPATH (with the repository, so `flops_fit` and `plugins` import), and makes `python` that machine's
# python3 (Snakemake's rules call `python`). docs/cluster.md, "A GPU machine without a package index".
set -euo pipefail
have=${1:?usage: scripts/offline_wheels.sh HAVE.txt [PYTHON_VERSION]}
pyver=${2:-3.12}
top=$(git rev-parse --show-toplevel); cd "$top"
[ -f "$have" ] || { echo "offline_wheels: $have: no such file (make it with 'python3 -m pip list --format=freeze' on the offline machine)" >&2; exit 2; }
grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >> .git/info/exclude
rm -rf .whl; mkdir -p .whl
need=$(pip list --format=freeze 2>/dev/null | python3 -c "
import sys
have = {l.split('==')[0].strip().lower().replace('_', '-') for l in open(sys.argv[1]) if l.strip() and not l.startswith('#')}
for line in sys.stdin:
    name, _, ver = line.strip().partition('==')
    key = name.lower().replace('_', '-')
    if ver and key not in have and key != 'flops-fit' and not key.startswith(('nvidia-', 'torch', 'triton')):
        print(f'{name}=={ver}')
" "$have")
plat=""
for p in manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux_2_24_x86_64 manylinux_2_28_x86_64 manylinux_2_31_x86_64 \
         manylinux_2_34_x86_64 manylinux_2_35_x86_64 manylinux1_x86_64; do plat="$plat --platform $p"; done
failed=""
for p in $need; do
  pip download -q --no-deps --only-binary=:all: --python-version "$pyver" --implementation cp $plat -d .whl "$p" >/dev/null 2>&1 \
    || pip wheel -q --no-deps -w .whl "$p" >/dev/null 2>&1 || failed="$failed $p"
done
cat > .whl/activate.sh <<'SH'
# . .whl/activate.sh   (on the offline machine, from the repository root)
FF_SITE=${FF_SITE:-/tmp/ff-site}
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$FF_SITE" .whl/*.whl || return 1
export PYTHONPATH=$FF_SITE:$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
mkdir -p "$FF_SITE/bin" && printf '#!/bin/sh\nexec %s "$@"\n' "$(command -v python3)" > "$FF_SITE/bin/python" && chmod +x "$FF_SITE/bin/python"
export PATH=$FF_SITE/bin:$PATH
SH
echo "wrote $(ls .whl/*.whl 2>/dev/null | wc -l) wheels to .whl/ ($(du -sh .whl | cut -f1))${failed:+; could not fetch:$failed}"
