#!/usr/bin/env bash
# quotad benchmark: the whole job against the Python baseline, xlsx ingest against the
# cost of inflating the files, and an incremental import. Not a test: it prints a
# table of medians and ratios (README "Performance").
#
#   bash benches/run.sh [--size 60k|1m|all] [--runs N] [--runs-1m N] [--work DIR] [--skip-python]
#
# --runs (default 3) runs each measurement of the 60k set N times, --runs-1m (default 1)
# the 1M set's (a 1M round, quotad plus both Python engines, takes ~8 min on 2 cores).
#
# Data come from the repository's own generator, examples/gen_crm.rs (seed 42, plain
# exports: --clean, as the published figures used), built in release with quotad.
# WORK (default target/bench-work) keeps the generated data between runs: the 1M set
# is about 68 MB. Wall time and peak RSS come from GNU time (`/usr/bin/time -f`).
#
# The Python baseline is optional: when the shared bench kit is checked out beside the
# clone (../shared/bench, with baseline_py/pipeline.py and requirements.txt), it runs on
# the same files from a venv this script makes in WORK/.venv; without it (or with
# --skip-python) the script says so and prints quotad's figures only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=$ROOT/../shared/bench
SIZE=all RUNS=3 RUNS_1M=1 WORK=$ROOT/target/bench-work PY=1
while [ $# -gt 0 ]; do
  case $1 in
    --size) SIZE=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --runs-1m) RUNS_1M=$2; shift 2 ;;
    --work) WORK=$2; shift 2 ;;
    --skip-python) PY=0; shift ;;
    *) echo "usage: bash benches/run.sh [--size 60k|1m|all] [--runs N] [--runs-1m N] [--work DIR] [--skip-python]" >&2; exit 2 ;;
  esac
done
if [ $PY = 1 ] && [ ! -f "$SHARED/baseline_py/pipeline.py" ]; then
  echo "benches: no Python baseline ($SHARED is absent): quotad-only figures" >&2
  PY=0
fi
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v unzip >/dev/null || { apt-get update -qq && apt-get install -y -qq unzip; }
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] \
  || { apt-get update -qq && apt-get install -y -qq fonts-dejavu-core fonts-droid-fallback; }
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
V=$WORK/.venv/bin/python
if [ $PY = 1 ]; then
  [ -x "$V" ] || python3 -m venv "$WORK/.venv"
  "$V" -m pip install --disable-pip-version-check -q -r "$SHARED/requirements.txt"
fi
cargo build --release --locked -q --bin quotad --example gen_crm
Q=$ROOT/target/release/quotad
G=$ROOT/target/release/examples/gen_crm
NOW=2026-11-02T14:00:00Z      # the Monday after the last export month (2026-10)

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -sr); load now: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ $PY = 1 ]; then
  echo "quotad $(git rev-parse --short HEAD), python: $("$V" --version)"
else
  echo "quotad $(git rev-parse --short HEAD), no Python baseline"
fi

# gen NAME REPS DEALS_PER_REP_MONTH
gen() {
  local d=$WORK/data_$1
  if [ ! -f "$d/quotas.csv" ]; then
    "$G" --out "$d" --reps "$2" --months 12 --deals-per-rep-month "$3" --seed 42 --clean | sed -n 1p
  fi
}

# A run directory: config (the shipped one, paths into the run dir, a CJK fallback font
# like the baseline's), inbox -> the data set.
setup() {
  local run=$1 data=$2
  rm -rf "$run"; mkdir -p "$run"
  ln -s "$data" "$run/data"
  sed -e 's|^inbox = "[^"]*"|inbox = "data"|' \
      -e 's|^archive = "[^"]*"|archive = "out/archive"|' \
      -e 's|^quarantine = "[^"]*"|quarantine = "out/quarantine"|' \
      -e 's|^outbox = "[^"]*"|outbox = "out/outbox"|' \
      -e 's|^reports = "[^"]*"|reports = "out/reports"|' \
      -e 's|^state = "[^"]*"|state = "out/quotad.sqlite"|' \
      -e 's|^fallback_fonts = \[\]|fallback_fonts = ["/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"]|' \
      config/quotad.toml > "$run/quotad.toml"
}

# measure LABEL CMD...: runs CMD, appends "LABEL seconds kilobytes" to $WORK/results.
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/.time" "$@" > "$WORK/.out" 2>&1 || { cat "$WORK/.out" >&2; exit 1; }
  echo "$label $(cat "$WORK/.time")" | tee -a "$WORK/results"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { awk -v l="$1" -v c="$2" '$1==l {print $c}' "$WORK/results" | median; }

: > "$WORK/results"
sizes=$SIZE; [ "$SIZE" = all ] && sizes="60k 1m"
for s in $sizes; do
  case $s in
    60k) gen 60k 500 10 ;;
    1m) gen 1m 2000 45 ;;
    *) echo "unknown size $s" >&2; exit 2 ;;
  esac
  data=$WORK/data_$s
  n=$RUNS; [ "$s" = 1m ] && n=$RUNS_1M
  for i in $(seq "$n"); do
    setup "$WORK/run_$s" "$data"
    measure "quotad-job-$s" "$Q" --config "$WORK/run_$s/quotad.toml" --now $NOW run all
    # The baseline's scope: import, memo e-mails, 1:1 PDFs and ranking PDF, but the
    # ranking and the 1:1 sheets not e-mailed (pipeline.py writes them as files only).
    setup "$WORK/run_$s" "$data"
    c="'$Q' --config '$WORK/run_$s/quotad.toml' --now $NOW"
    measure "quotad-baseline-scope-$s" sh -c "$c import >/dev/null && $c run quota-memo >/dev/null && $c preview one-on-one --out '$WORK/run_$s/out/prep' >/dev/null && $c preview weekly-ranking --out '$WORK/run_$s/out/rankings'"
    # Ingest alone: a fresh store, the same 14 files.
    setup "$WORK/run_$s" "$data"
    measure "quotad-import-$s" "$Q" --config "$WORK/run_$s/quotad.toml" --now $NOW import
    measure "inflate-$s" sh -c "for f in '$data'/crm-export-*.xlsx; do unzip -p \"\$f\"; done | wc -c"
    if [ $PY = 1 ]; then
      rm -rf "$WORK/py_$s"
      measure "python-openpyxl-$s" "$V" "$SHARED/baseline_py/pipeline.py" --in "$data" --out "$WORK/py_$s"
      rm -rf "$WORK/py_$s"
      measure "python-calamine-$s" "$V" "$SHARED/baseline_py/pipeline.py" --in "$data" --out "$WORK/py_$s" --engine calamine
    fi
  done
done

# Incremental: one new 5k-row export (a month after the history) into a store holding
# ~100k rows, and one holding ~1M rows. The new file: 110 reps x 45 deals, month 2026-11.
inc_month=$WORK/data_inc_new
if [ ! -f "$inc_month/crm-export-2026-11.xlsx" ]; then
  "$G" --out "$inc_month" --reps 110 --months 1 --deals-per-rep-month 48 --seed 7 --end-month 2026-11 --clean | sed -n 1p
fi
for base in 100k 1m; do
  case $base in
    100k) gen 100k 200 45 ;;
  esac
  [ -d "$WORK/data_$base" ] || continue
  n=$RUNS; [ "$base" = 1m ] && n=$RUNS_1M
  for i in $(seq "$n"); do
    setup "$WORK/run_inc" "$WORK/data_$base"
    "$Q" --config "$WORK/run_inc/quotad.toml" --now $NOW import > /dev/null
    rm "$WORK/run_inc/data"; mkdir "$WORK/run_inc/data"
    cp "$inc_month/crm-export-2026-11.xlsx" "$WORK/run_inc/data/"
    measure "incremental-$base" "$Q" --config "$WORK/run_inc/quotad.toml" --now 2026-12-02T14:00:00Z import
  done
done

echo
echo "medians ($RUNS run(s) at 60k, $RUNS_1M at 1M): wall seconds, peak RSS MB"
printf '%-28s %10s %10s\n' what seconds "RSS MB"
for l in $(awk '{print $1}' "$WORK/results" | awk '!seen[$0]++'); do
  printf '%-28s %10.2f %10.0f\n' "$l" "$(col "$l" 2)" "$(echo "$(col "$l" 3) / 1024" | bc -l)"
done
echo
for s in $sizes; do
  q=$(col "quotad-job-$s" 2); imp=$(col "quotad-import-$s" 2); inf=$(col "inflate-$s" 2)
  if [ $PY = 1 ]; then
    b=$(col "quotad-baseline-scope-$s" 2)
    printf '%s: whole job (run all) %.2fx the speed of Python/openpyxl, %.2fx of Python/calamine\n' "$s" \
      "$(echo "$(col "python-openpyxl-$s" 2) / $q" | bc -l)" "$(echo "$(col "python-calamine-$s" 2) / $q" | bc -l)"
    printf '%s: baseline scope %.2fx the speed of Python/openpyxl, %.2fx of Python/calamine\n' "$s" \
      "$(echo "$(col "python-openpyxl-$s" 2) / $b" | bc -l)" "$(echo "$(col "python-calamine-$s" 2) / $b" | bc -l)"
  fi
  printf '%s: ingest / inflate = %.2f\n' "$s" "$(echo "$imp / $inf" | bc -l)"
done
