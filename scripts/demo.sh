#!/usr/bin/env bash
# The nbprod demo: take the example project (examples/churn) from notebooks to a
# tested package, on a temporary copy so the repository stays clean.
#
#   VENV=/path/to/venv scripts/demo.sh      (make demo passes the repo's .venv)
#   KEEP=1 scripts/demo.sh                  keep the temporary copy afterwards
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
python="$venv/bin/python"
nbprod="$venv/bin/nbprod"
export PATH="$venv/bin:$PATH"
# rich renders tables for 80 columns when not on a terminal; the run tables need more
[[ -t 1 ]] || export COLUMNS="${COLUMNS:-160}"

work="$(mktemp -d "${TMPDIR:-/tmp}/nbprod-demo.XXXXXX")"
project="$work/churn"
if [[ "${KEEP:-0}" == 1 ]]; then
    trap 'echo; echo "(kept $project)"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi

# ipykernel warns on every kernel start that its local TCP ports are unencrypted;
# on one machine that says nothing, and it buries the demo's output
quiet_kernels() { grep -v --line-buffered 'Kernel is running over TCP without encryption' >&2 || true; }
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# show the command as one would type it (arguments with spaces in quotes), then run it
run() {
    local shown=() arg
    for arg in "$@"; do
        [[ "$arg" == *[[:space:]]* ]] && arg="'$arg'"
        shown+=("$arg")
    done
    printf '$ %s\n' "${shown[*]}"
    "$@"
}

section "1. Copy examples/churn to a temporary folder"
# never copy generated folders a local export may have left in the example
mkdir -p "$project"
tar -C "$repo/examples/churn" \
    --exclude=./src --exclude=./tests --exclude=./runs --exclude=./.nbprod \
    --exclude=.ipynb_checkpoints --exclude=__pycache__ -cf - . | tar -C "$project" -xf -
cd "$project"
echo "$project"
find . -type f | sort | sed 's|^\./|  |'

section "2. Export: cells tagged 'export' -> package, 'test' -> tests"
run "$nbprod" export
echo
echo "generated files:"
find src tests -type f -name '*.py' | sort | sed 's|^|  |'

section "3. Import the package in a fresh interpreter"
PYTHONPATH="$project/src" run "$python" - <<'PY'
import churn.features as features
import churn.train as train

for module in (features, train):
    summary = (module.__doc__ or "").strip().splitlines()
    print(f"{module.__name__}: {summary[0] if summary else '(no docstring)'}")
    print(f"  public names: {', '.join(getattr(module, '__all__', []))}")

df = features.add_features(features.make_customers(1000, seed=0))
model = train.train_model(df[features.FEATURE_COLUMNS], df[features.TARGET_COLUMN])
scores = train.evaluate(model, df[features.FEATURE_COLUMNS], df[features.TARGET_COLUMN])
print("trained on 1000 customers:", {k: round(v, 3) for k, v in scores.items()})
PY

section "4. Run the generated tests"
PYTHONPATH="$project/src" run "$python" -m pytest -q -p no:cacheprovider tests

# Runs and batches: the parameter grid of 02_train, run in parallel, then the history.
section "5. Batch: 02_train over grid.yaml, two runs at a time"
cat grid.yaml
run "$nbprod" batch notebooks/02_train.ipynb --grid grid.yaml --jobs 2 2> >(quiet_kernels)
section "6. Run history"
run "$nbprod" runs

# Ship: the quality gate, then a gated push to a local bare repository (the "remote").
section "7. Ship: nbprod init, nbprod check, nbprod push to a local bare repository"
remote="$work/remote.git"
git init -q --bare -b main "$remote"
git init -q -b main .
git config user.name "nbprod demo"
git config user.email "demo@example.com"
git remote add origin "$remote"
# the first commit holds what the data scientist wrote; the push adds the
# generated package and tests, once the gate passed on them
git add .gitignore README.md grid.yaml pyproject.toml notebooks
git commit -q -m "Churn notebooks, as the data scientist left them"
git push -q origin main
run "$nbprod" init
run "$nbprod" deps
run "$nbprod" check 2> >(quiet_kernels)
run "$nbprod" push -m "Churn model: features, training and their tests" 2> >(quiet_kernels)
section "8. What the remote received"
run git --git-dir "$remote" log --stat main

# Monitor: score three weekly batches with the shipped package, the last one drifted.
section "9. Monitor: 03_score on three batches, the last with drifted customers"
run "$nbprod" run notebooks/03_score.ipynb -p batch_date 2024-06-01 -p seed 1 2> >(quiet_kernels)
run "$nbprod" run notebooks/03_score.ipynb -p batch_date 2024-06-08 -p seed 2 2> >(quiet_kernels)
run "$nbprod" run notebooks/03_score.ipynb -p batch_date 2024-06-15 -p seed 3 -p drift 1.0 \
    2> >(quiet_kernels)
# exit 1 is what nbprod monitor answers on an alert: here it is the expected outcome
status=0
run "$nbprod" monitor notebooks/03_score.ipynb || status=$?
if [[ $status -ne 1 ]]; then
    echo "expected nbprod monitor to report the drift (exit 1), got exit $status" >&2
    exit 1
fi
echo "(exit 1: the last batch drifted, as intended)"

section "Done"
echo "examples/churn went from notebooks to an importable, tested package, a run history,"
echo "a gated push to $remote and a drift alert on its scoring runs (working copy: $project)"
