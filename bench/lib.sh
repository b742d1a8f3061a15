# shellcheck shell=bash
# bench/lib.sh: the machinery of bench/run, sourced by it: messages, build and
# install steps, processes, readiness checks, parsing, recording, the table and
# the goal lines. Scenarios live in bench/scenarios.sh (the probe suite) and
# bench/servers.sh (the server suite).

# Messages go to fd 4, the run's own stderr, even from code that runs while a
# scenario's output is redirected (the signal trap); fd 3 is its stdout.
exec 3>&1 4>&2
note() { printf '== %s\n' "$*" >&4; }
warn() { printf '!! %s\n' "$*" >&4; printf '!! %s\n' "$*" >>"$RESULTS"; }
raw() { printf '%s\n' "$*" >>"$RESULTS"; }

# BENCH_PIN puts servers and clients on fixed CPUs with taskset: "same" (all
# on CPU 0), "split" (servers on 0, clients on 1), or "none" (the scheduler
# decides, the default). Go programs then see one CPU, as GOMAXPROCS does.
pinning() {
  SRV_PIN=() CLI_PIN=()
  case $1 in
    none) ;;
    same) SRV_PIN=(taskset -c 0) CLI_PIN=(taskset -c 0) ;;
    split) SRV_PIN=(taskset -c 0) CLI_PIN=(taskset -c 1) ;;
    *) echo "bench/run: BENCH_PIN: want none, same or split, not \"$1\"" >&2 && exit 2 ;;
  esac
}

# bounded runs a client with a time limit, so no step can hang the run.
bounded() { timeout -k 5 "$CLIENT_TIMEOUT" "${CLI_PIN[@]+"${CLI_PIN[@]}"}" "$@"; }

facts() {
  {
    printf 'machine: %s CPUs (nproc), kernel %s, %s\n' "$(nproc)" "$(uname -r)" \
      "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    printf 'go: %s; gcc: %s\n' "$(go version | cut -d' ' -f3-)" "$(gcc -dumpfullversion)"
    printf 'load average at start: %s; CPU pinning (BENCH_PIN): %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)" "$PIN"
    printf 'date: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  } | tee -a "$RESULTS" >&4
}

build() {
  note "building bench/out/loopback and the C references"
  # Static, as the README and the Dockerfile build it: linked with libc,
  # threads start through pthread_create and start-up takes 2.5 ms longer.
  CGO_ENABLED=0 timeout 300 go build -o "$LB" .
  for prog in pingpong echo load ready stream; do
    timeout 60 gcc -O2 -Wall -pthread -o "$OUT/$prog" "bench/ref/$prog.c"
  done
}

# install_peers installs what is missing: Debian packages with apt-get (one
# `apt-get update` only if the install fails), fortio with `go install`.
install_peers() {
  local need=() cmd
  for cmd in sockperf socat hyperfine; do
    command -v "$cmd" >/dev/null || need+=("$cmd")
  done
  if [ ${#need[@]} -gt 0 ]; then
    note "installing from Debian: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! timeout 300 apt-get install -y -qq "${need[@]}" >/dev/null; then
      timeout 300 apt-get update -qq
      timeout 300 apt-get install -y -qq "${need[@]}" >/dev/null
    fi
  fi
  if ! "$OUT/fortio" version 2>/dev/null | grep -q "^${FORTIO_VERSION#v}"; then
    note "installing fortio $FORTIO_VERSION into bench/out"
    GOBIN=$OUT timeout 300 go install "fortio.org/fortio@$FORTIO_VERSION"
  fi
  local inetd=
  if wanted server; then
    [ -x "$INETD" ] || install_inetd
    inetd=", $("$INETD" --version | head -1)"
  fi
  raw "peers: sockperf $(sockperf --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1)," \
    "$(socat -V 2>/dev/null | sed -n 's/^socat version \([^ ]*\).*/socat \1/p')," \
    "$(hyperfine --version), fortio $("$OUT/fortio" version 2>&1 | head -1)$inetd"
}

# install_inetd unpacks inetutils-inetd into bench/out/inetd instead of
# installing it: the package conflicts with xinetd and would start a system
# inetd; we only want its binary, run in the foreground with our own config.
install_inetd() {
  local deb
  note "unpacking inetutils-inetd into bench/out/inetd"
  rm -rf "$OUT/inetd" "$OUT"/inetutils-inetd_*.deb
  # -o APT::Sandbox::User=root: as root, the download is into a directory the
  # _apt user cannot write, which apt only warns about.
  if ! (cd "$OUT" && timeout 120 apt-get download -qq -o APT::Sandbox::User=root inetutils-inetd); then
    timeout 300 apt-get update -qq
    (cd "$OUT" && timeout 120 apt-get download -qq -o APT::Sandbox::User=root inetutils-inetd)
  fi
  deb=$(ls "$OUT"/inetutils-inetd_*.deb)
  dpkg-deb -x "$deb" "$OUT/inetd"
  rm -f "$deb"
}

# --- processes -------------------------------------------------------------

declare -A PID_NAME=() # every background process we started, by PID

# start_bg NAME STDOUT STDERR CMD...: starts CMD in the background under a
# timeout of its own (so it ends even if this shell is killed); sets BG_PID.
# STDOUT and STDERR are emptied first, here: the background job's own
# redirections come later, and a readiness check that reads the file before
# then would take an earlier process's ready line (its port) for this one's.
start_bg() {
  local name=$1 out=$2 err=$3
  shift 3
  : >"$out"
  : >"$err"
  timeout -k 5 "$LIMIT_S" "${SRV_PIN[@]+"${SRV_PIN[@]}"}" "$@" >"$out" 2>"$err" </dev/null 3>&- 4>&- &
  BG_PID=$!
  PID_NAME[$BG_PID]=$name
}

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL. timeout forwards the
# signal to its command and that command's process group.
stop_pid() {
  local pid=$1 i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  unset "PID_NAME[$pid]"
}

cleanup() {
  local pid
  for pid in "${!PID_NAME[@]}"; do
    stop_pid "$pid"
  done
  rm -rf "$TMP"
}

# stopped SIGNAL STATUS: on a signal (or the time limit), print the table of
# the suite that was running, with what it measured so far, then exit; the
# EXIT trap stops the servers.
stopped() {
  trap - INT TERM
  warn "stopped by SIG$1 after $((SECONDS - T0)) s (the ${LIMIT_S} s limit, or you); a partial table follows"
  stop_servers
  report | tee -a "$RESULTS" >&3
  exit "$2"
}

# report prints the table of the suite in progress (SUITE_NOW).
report() {
  case ${SUITE_NOW:-} in
    probe) table ;;
    server) server_table ;;
  esac
}

alive() { kill -0 "$1" 2>/dev/null; }

# listening PROTO PORT: is 127.0.0.1:PORT a listening TCP socket or a bound UDP
# socket? Read from /proc/net, so it works for servers that print nothing.
listening() {
  local file=/proc/net/$1 hex
  hex=$(printf '0100007F:%04X' "$2")
  awk -v a="$hex" -v udp="$([ "$1" = udp ] && echo 1)" \
    'NR > 1 && $2 == a && (udp || $4 == "0A") { found = 1 } END { exit !found }' "$file"
}

# ready PID CHECK...: waits up to 10 s (READY_TRIES x 20 ms) for CHECK,
# failing early if PID died.
ready() {
  local pid=$1 i
  shift
  for ((i = 0; i < ${READY_TRIES:-500}; i++)); do
    "$@" && return 0
    alive "$pid" || return 1
    sleep 0.02
  done
  return 1
}

has_line() { [ -s "$1" ] && grep -q "$2" "$1"; }

# main_pid PID: the process that a start_bg wrapper PID runs, its only child
# (timeout forks its command; taskset and unshare exec theirs).
main_pid() {
  local i kids
  for ((i = 0; i < 100; i++)); do
    kids=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || return 1
    [ -n "$kids" ] && { echo "${kids%% *}"; return 0; }
    sleep 0.01
  done
  return 1
}

# cpu_ticks PID: CPU time of PID and its children so far, in clock ticks:
# utime+stime+cutime+cstime from /proc/PID/stat, plus the same for each live
# child. A child that exited and was reaped is in its parent's cutime/cstime,
# so for servers that fork per connection the difference of two readings is
# what the server and all its children used in between.
cpu_ticks() {
  local files=("/proc/$1/stat") kid
  for kid in $(cat /proc/"$1"/task/*/children 2>/dev/null); do files+=("/proc/$kid/stat"); done
  # Fields after "(comm)": state is $1, so utime..cstime are $12..$15.
  cat "${files[@]}" 2>/dev/null | awk '{ sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 } END { print t + 0 }'
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fd_count() { ls "/proc/$1/fd" | wc -l; }

# free_port sets FREE_PORT to a port number the kernel picked and that was
# free for TCP and UDP a moment ago, for servers that cannot take port 0: the
# reference echo server binds both on port 0 and is stopped again.
free_port() {
  local f=$TMP/free.port
  start_bg free-port "$f" /dev/null "$OUT/echo"
  ready "$BG_PID" has_line "$f" '^[0-9]' || { stop_pid "$BG_PID"; return 1; }
  FREE_PORT=$(head -1 "$f")
  stop_pid "$BG_PID"
}

# --- parsing (every value in µs unless said) -------------------------------

probe_pct() { sed -n 's/.*"rtt_us":{\([^}]*\)}.*/\1/p' <<<"$1" | tr ',' '\n' | sed -n "s/^\"$2\"://p"; }
pingpong_pct() { sed -n "s/.*\"$2_us\":\([0-9.]*\).*/\1/p" <<<"$1"; }
sockperf_pct() { sed -n "s/.*percentile $2 = *\([0-9.]*\).*/\1/p" <<<"$1" | head -1; }
# fortio_pct FILE PCT: the duration percentile from fortio's -json file, in µs.
fortio_pct() {
  awk -v p="$2" '/"DurationHistogram"/ { in_h = 1 }
    in_h && $0 ~ "\"Percentile\": " p "," { want = 1; next }
    want && /"Value"/ { gsub(/[",]/, "", $2); printf "%.3f\n", $2 * 1e6; exit }' "$1"
}
# hyperfine_pcts FILE INDEX: p50 and p99 (nearest rank) of one command's wall
# times from hyperfine's JSON export, in ms.
hyperfine_pcts() {
  awk -v want="$2" '/"command":/ { n++ } /"times": \[/ { t = (n == want + 1); next }
    t && /\]/ { t = 0 } t { gsub(/,/, ""); v[++c] = $1 * 1000 }
    END { if (!c) exit 1; asort_n(v, c); printf "%.3f %.3f\n", v[rank(50, c)], v[rank(99, c)] }
    function rank(p, n,   r) { r = int(p / 100 * n + 0.999999); return r < 1 ? 1 : r }
    function asort_n(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]
      for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x } }' "$1"
}

# json_num JSON KEY: the number KEY has in a one-line JSON object.
json_num() { sed -n "s/.*\"$2\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p" <<<"$1"; }

isnum() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; }

# --- recording -------------------------------------------------------------

declare -A P50=() P99=() SKIP=()

# measure ID PROTO RUN: runs the scenario's function, which prints "P50 P99"
# (or "skip REASON") and may append raw output to $RESULTS.
measure() {
  local id=$1 proto=$2 run=$3 fn="scn_${1//-/_}" out p50 p99
  raw "run=$run scenario=$id proto=$proto"
  if ! "$fn" "$proto" >"$TMP/m.out" 2>"$TMP/m.err"; then
    warn "run $run $id $proto failed: $(tail -3 "$TMP/m.err" | tr '\n' ' ')"
    return 0
  fi
  out=$(cat "$TMP/m.out")
  if [[ $out == skip* ]]; then
    SKIP[$id/$proto]=${out#skip }
    return 0
  fi
  read -r p50 p99 <<<"$out"
  if ! isnum "${p50:-}" || ! isnum "${p99:-}"; then
    warn "run $run $id $proto: no percentiles in: $out $(tail -3 "$TMP/m.err" | tr '\n' ' ')"
    return 0
  fi
  P50[$id/$proto/$run]=$p50
  P99[$id/$proto/$run]=$p99
  raw "  => p50=$p50 p99=$p99"
}

median() {
  printf '%s\n' "$@" | { grep -E '^[0-9]' || true; } | sort -g |
    awk '{ a[NR] = $1 } END { if (!NR) print "NA"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# values ARRAY ID PROTO [RUNS]: that scenario's per-run values, "NA" where
# missing; RUNS defaults to the probe suite's.
values() {
  local -n arr=$1
  local r
  for ((r = 1; r <= ${4:-$RUNS}; r++)); do printf '%s ' "${arr[$2/$3/$r]:-NA}"; done
}

# key_proto ID PROTO: PROTO, or "-" for a scenario that runs for no protocol
# (such as /bin/true), so that a TCP row can be compared with it.
key_proto() { if [ "${SCENARIO_PROTOS[$1]:-}" = - ]; then echo -; else echo "$2"; fi; }

# run_ratio ARRAY NUM DEN [RUNS]: the median over runs of ARRAY[NUM/run] /
# ARRAY[DEN/run], each pair from the same run.
run_ratio() {
  local -n arr=$1
  local r a b list=()
  for ((r = 1; r <= ${4:-$RUNS}; r++)); do
    a=${arr[$2/$r]:-} b=${arr[$3/$r]:-}
    isnum "$a" && isnum "$b" && [ "$b" != 0 ] &&
      list+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", a / b }')")
  done
  median "${list[@]+"${list[@]}"}"
}

# ratio NUM DEN PROTO: the median over runs of NUM's p50 / DEN's p50 from the
# same run.
ratio() { run_ratio P50 "$1/$(key_proto "$1" "$3")" "$2/$(key_proto "$2" "$3")"; }

# fmt VALUE [DECIMALS] [SUFFIX]: a number rounded, with SUFFIX; else "n/a".
fmt() { if isnum "$1"; then printf "%.${2:-1}f%s" "$1" "${3:-}"; else printf 'n/a'; fi; }

# --- the table -------------------------------------------------------------

table() {
  local id proto p50 p99 n r rt
  printf '\nmedians of %s runs; %s x %s-byte round trips per run after %s warm-up; ratio = median of per-run ratios\n' \
    "$RUNS" "$COUNT" "$SIZE" "$WARMUP"
  printf '%-48s %-5s %9s %9s %-4s %5s %7s  %s\n' scenario proto p50 p99 unit runs ratio "ratio is"
  printf '%s\n' "$(printf '%.0s-' {1..114})"
  for id in "${SCENARIO_IDS[@]}"; do
    for proto in ${SCENARIO_PROTOS[$id]:-$PROTOS}; do
      # shellcheck disable=SC2207
      local v50=($(values P50 "$id" "$proto")) v99=($(values P99 "$id" "$proto"))
      n=0
      for r in "${v50[@]}"; do isnum "$r" && n=$((n + 1)); done
      if [ -n "${SKIP[$id/$proto]:-}" ]; then
        printf '%-48s %-5s %9s %9s %-4s %5s %7s  %s\n' "${SCENARIO_LABEL[$id]}" "$proto" n/a n/a \
          "${SCENARIO_UNIT[$id]}" - - "${SKIP[$id/$proto]}"
        continue
      fi
      p50=$(median "${v50[@]}")
      p99=$(median "${v99[@]}")
      rt=-
      [ -n "${SCENARIO_DEN[$id]:-}" ] && rt=$(fmt "$(ratio "${SCENARIO_NUM[$id]}" "${SCENARIO_DEN[$id]}" "$proto")" 2 x)
      printf '%-48s %-5s %9s %9s %-4s %5s %7s  %s\n' "${SCENARIO_LABEL[$id]}" "$proto" "$(fmt "$p50")" \
        "$(fmt "$p99")" "${SCENARIO_UNIT[$id]}" "$n/$RUNS" "$rt" "${SCENARIO_RATIO_LABEL[$id]:-}"
    done
  done
  printf '\n'
  goals
}

# goal_line LABEL VALUE UNIT_TEXT CHECK LIMIT GOAL_TEXT: prints one goal check;
# CHECK is "le" (VALUE <= LIMIT), "ge" (VALUE >= LIMIT) or "near"
# (|VALUE - 1| <= LIMIT).
goal_line() {
  local label=$1 v=$2 what=$3 check=$4 limit=$5 goal=$6 verdict
  if ! isnum "$v"; then
    verdict=n/a
  elif awk -v v="$v" -v l="$limit" -v c="$check" \
    'BEGIN { d = v - 1; if (d < 0) d = -d; exit !(c == "le" ? v <= l : c == "ge" ? v >= l : d <= l) }'; then
    verdict=OK
  else
    verdict=MISS
  fi
  # A value that rounds to the limit gets a third decimal, so that a MISS
  # never reads "1.00x (goal >= 1.00x)".
  local dec=2
  [ "$check" != near ] && [ "$(fmt "$v" 2)" = "$(fmt "$limit" 2)" ] && dec=3
  printf '%s: %s (goal %s): %s\n' "$label" "$(fmt "$v" "$dec" "$what")" "$goal" "$verdict"
}
