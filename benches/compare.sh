#!/usr/bin/env bash
# Throughput of `piscan scan` against ripgrep running an equivalent,
# unvalidated regex set (benches/rg-patterns.txt) on the same corpora.
#
#   benches/compare.sh                              # every corpus below at its default size
#   PISCAN_COMPARE_SIZE=256M benches/compare.sh     # all corpora 256 MiB, quick
#
# Environment:
#   PISCAN_COMPARE_SIZE          size of both corpora (overrides the defaults below)
#   PISCAN_COMPARE_LOGS_SIZE     size of the many-files corpus   (default 1G)
#   PISCAN_COMPARE_FILES         number of files in it           (default 64)
#   PISCAN_COMPARE_ONEFILE_SIZE  size of the single-file corpus  (default 2G)
#   PISCAN_COMPARE_SMALL_FILES   files in the many-small-files corpus, about 5 KB each (default 100000)
#   PISCAN_COMPARE_CORPORA       which corpora to run (default "logs onefile appdump dump small")
#   PISCAN_COMPARE_APPDUMP_SIZE  size of the application dump: mysqldump of a users
#                                table beside orders and events tables 18 times its
#                                size, INSERT lines of 1 MiB (default 1G)
#   PISCAN_COMPARE_DUMP_SIZE     size of the dense SQL dump: one INSERT line holding a
#                                users table, an ID, phone and card per row (default 1G)
#   PISCAN_COMPARE_RG_UNICODE    1: also time rg once with the patterns in rg's default
#                                (Unicode) syntax, without the (?-u) prefix
#   PISCAN_COMPARE_RUNS          timed runs per tool and corpus  (default 3)
#   PISCAN_COMPARE_TMPDIR        where the corpora are written   (default $TMPDIR or /tmp)
#   CARGO_TARGET_DIR             honoured for the build
#
# Runs are page-cached: nothing is dropped from the cache, and each tool gets
# one untimed warm-up run per corpus. Wall, user+sys CPU and peak RSS come
# from /usr/bin/time; the medians of the timed runs are printed.
#
# The regexes start with (?-u): ASCII \d and \b. With Unicode \b, ripgrep's
# DFA gives up on the Chinese text in the logs and falls back to a far slower
# engine (~100x), which would measure that fallback, not regex scanning.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

logs_size="${PISCAN_COMPARE_LOGS_SIZE:-${PISCAN_COMPARE_SIZE:-1G}}"
onefile_size="${PISCAN_COMPARE_ONEFILE_SIZE:-${PISCAN_COMPARE_SIZE:-2G}}"
dump_size="${PISCAN_COMPARE_DUMP_SIZE:-${PISCAN_COMPARE_SIZE:-1G}}"
appdump_size="${PISCAN_COMPARE_APPDUMP_SIZE:-${PISCAN_COMPARE_SIZE:-1G}}"
rg_unicode="${PISCAN_COMPARE_RG_UNICODE:-0}"
small_files="${PISCAN_COMPARE_SMALL_FILES:-100000}"
corpora="${PISCAN_COMPARE_CORPORA:-logs onefile appdump dump small}"
files="${PISCAN_COMPARE_FILES:-64}"
runs="${PISCAN_COMPARE_RUNS:-3}"
patterns="$repo/benches/rg-patterns.txt"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

if ! command -v rg >/dev/null 2>&1; then
    echo "compare: installing ripgrep" >&2
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get install -y ripgrep >/dev/null ||
        { "${sudo_cmd[@]}" apt-get update -qq && "${sudo_cmd[@]}" apt-get install -y ripgrep >/dev/null; }
fi
if [[ ! -x /usr/bin/time ]]; then
    echo "compare: /usr/bin/time (GNU time) is required: apt-get install -y time" >&2
    exit 1
fi

echo "compare: building piscan and the corpus generator (release)" >&2
cargo build --release --quiet --bin piscan --example corpus
piscan="$target_dir/release/piscan"
corpus="$target_dir/release/examples/corpus"

tmp="$(mktemp -d "${PISCAN_COMPARE_TMPDIR:-${TMPDIR:-/tmp}}/piscan-compare.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

declare -A path_of=([logs]="$tmp/logs" [onefile]="$tmp/one/big.log" [appdump]="$tmp/appdump/app.sql"
    [dump]="$tmp/dump/prod.sql" [small]="$tmp/small")
for name in $corpora; do
    case "$name" in
        logs) "$corpus" logs "$tmp/logs" --size "$logs_size" --files "$files" ;;
        onefile) "$corpus" onefile "$tmp/one/big.log" --size "$onefile_size" ;;
        appdump) "$corpus" appdump "$tmp/appdump/app.sql" --size "$appdump_size" ;;
        dump) "$corpus" dump "$tmp/dump/prod.sql" --size "$dump_size" ;;
        small) "$corpus" logs "$tmp/small" --size "$((small_files * 5))K" --files "$small_files" ;;
        *) echo "compare: unknown corpus $name" >&2; exit 2 ;;
    esac
done
# The corpora are several GB of dirty pages: written back now, not while
# the tools are timed (the kernel's writeback made later corpora noisy).
sync

bytes_of() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }'; }

# Prints the median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run_tool NAME PATH CORPUS: one warm-up, then $runs timed runs; prints
# "median_wall median_cpu median_rss_kb". ripgrep prints every match with
# its line number (`-o -n`, as piscan reports each value), but counts
# matching lines (`-c`) on the many small files, as the issue asks.
run_tool() {
    local name="$1" path="$2" corpus="$3" out="$tmp/times.$1" i
    local cmd
    local rg_output=(-o -n)
    [[ $corpus == small ]] && rg_output=(-c)
    case "$name" in
        piscan) cmd=("$piscan" scan "$path" --format jsonl --no-progress) ;;
        rg) cmd=(rg "${rg_output[@]}" -f "$patterns" "$path") ;;
        rg-unicode) cmd=(rg "${rg_output[@]}" -f "$tmp/rg-unicode.txt" "$path") ;;
    esac
    # The Unicode run is slow: one run, no warm-up (the corpus is cached).
    local n="$runs"
    if [[ $name == rg-unicode ]]; then
        n=1
    else
        # rg exits 1 when nothing matches; that is not a failure here.
        "${cmd[@]}" >/dev/null 2>&1 || [[ $? -eq 1 ]]
    fi
    : >"$out"
    for ((i = 0; i < n; i++)); do
        /usr/bin/time -f '%e %U %S %M' -o "$out.one" "${cmd[@]}" >/dev/null 2>"$tmp/stderr" ||
            [[ $? -eq 1 ]] || { cat "$tmp/stderr" >&2; exit 1; }
        tail -n 1 "$out.one" >>"$out"
    done
    local wall cpu rss
    wall=$(awk '{ print $1 }' "$out" | median)
    cpu=$(awk '{ print $2 + $3 }' "$out" | median)
    rss=$(awk '{ print $4 }' "$out" | median)
    echo "$wall $cpu $rss"
}

rows=()
for name in $corpora; do
    path="${path_of[$name]}"
    bytes=$(bytes_of "$path")
    echo "compare: $name ($bytes bytes), $runs runs each" >&2
    read -r p_wall p_cpu p_rss < <(run_tool piscan "$path" "$name")
    read -r r_wall r_cpu r_rss < <(run_tool rg "$path" "$name")
    rows+=("$name piscan $p_wall $p_cpu $bytes $p_rss $p_wall $r_wall $p_cpu $r_cpu")
    rows+=("$name rg $r_wall $r_cpu $bytes $r_rss - - - -")
    if [[ $rg_unicode == 1 ]]; then
        sed 's/^(?-u)//' "$patterns" >"$tmp/rg-unicode.txt"
        read -r u_wall u_cpu u_rss < <(run_tool rg-unicode "$path" "$name")
        rows+=("$name rg-unicode $u_wall $u_cpu $bytes $u_rss $p_wall $u_wall $p_cpu $u_cpu")
    fi
done

echo
echo "cores: $(nproc), runs: $runs (median), page-cached; $(rg --version | sed -n 1p); piscan $("$piscan" --version 2>/dev/null | awk '{ print $NF }')"
printf '%s\n' "${rows[@]}" | awk '
function ratio(a, b) { return (b <= 0) ? "" : sprintf((a / b < 0.1) ? "%.4f" : "%.2f", a / b) }
BEGIN {
    printf "%-8s %-10s %10s %10s %8s %12s %14s %14s\n", "corpus", "tool", "wall s", "CPU s", "GB/s", "peak RSS MB", "piscan/rg wall", "piscan/rg CPU"
}
{
    gbps = ($3 > 0) ? $5 / $3 / 1e9 : 0
    wr = ($7 == "-") ? "" : ratio($7, $8)
    cr = ($9 == "-") ? "" : ratio($9, $10)
    printf "%-8s %-10s %10.2f %10.2f %8.2f %12.1f %14s %14s\n", $1, $2, $3, $4, gbps, $6 / 1024, wr, cr
}'

# The issue's targets, from the medians above: each with its value and
# whether this run meets it.
echo
echo "targets (issue 7):"
printf '%s\n' "${rows[@]}" | awk '
$2 == "piscan" {
    wall[$1] = $3; cpu[$1] = $4; rate[$1] = ($3 > 0) ? $5 / $3 / 1e9 : 0
    rss[$1] = $6 / 1024; rg_wall[$1] = $8; rg_cpu[$1] = $10
}
function check(what, value, op, limit) {
    met = (op == "<=") ? value <= limit : value >= limit
    printf "  %-44s %8.2f  (target %s %s)  %s\n", what, value, op, limit, met ? "met" : "NOT met"
}
END {
    if ("logs" in wall) {
        check("logs: piscan GB/s", rate["logs"], ">=", 1.5)
        check("logs: piscan/rg wall", wall["logs"] / rg_wall["logs"], "<=", 0.15)
        check("logs: piscan/rg CPU", cpu["logs"] / rg_cpu["logs"], "<=", 0.15)
    }
    if ("onefile" in wall)
        check("onefile: piscan/rg wall", wall["onefile"] / rg_wall["onefile"], "<=", 0.10)
    for (name in wall)
        if ((name == "appdump" || name == "dump") && ("logs" in rate) && rate[name] > 0)
            check(name ": time per byte / the logs'\''", rate["logs"] / rate[name], "<=", 1.5)
    if ("small" in wall)
        check("small: piscan/rg -c wall", wall["small"] / rg_wall["small"], "<=", 1.0)
    for (name in rss)
        check(name ": piscan peak RSS MB", rss[name], "<=", 100)
}'
