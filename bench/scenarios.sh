# shellcheck shell=bash
# bench/scenarios.sh: what bench/run measures, sourced by it. To add a
# scenario: register it with `scenario` below (the table keeps this order) and
# write `scn_ID PROTO` (dashes in ID become underscores), which prints
# "P50 P99" in the scenario's unit, or "skip REASON"; add a goal line to
# `goals` if it has one. Servers start once, on first use, via `server NAME`.

declare -a SCENARIO_IDS=()
declare -A SCENARIO_LABEL=() SCENARIO_UNIT=() SCENARIO_NUM=() SCENARIO_DEN=()
declare -A SCENARIO_RATIO_LABEL=() SCENARIO_PROTOS=()

# scenario ID LABEL [unit=us|ms] [ratio=NUM/DEN] [is=TEXT] [protos=LIST]
# ratio: the table's ratio column is NUM's p50 / DEN's p50 (NUM defaults to
# ID); is: what that ratio is; protos: "-" for a scenario with no protocol.
scenario() {
  local id=$1 kv r
  SCENARIO_IDS+=("$id")
  SCENARIO_LABEL[$id]=$2
  SCENARIO_UNIT[$id]=us
  shift 2
  for kv; do
    case $kv in
      unit=*) SCENARIO_UNIT[$id]=${kv#unit=} ;;
      ratio=*) r=${kv#ratio=} && SCENARIO_NUM[$id]=${r%/*} && SCENARIO_DEN[$id]=${r#*/}
        [ -n "${SCENARIO_NUM[$id]}" ] || SCENARIO_NUM[$id]=$id ;;
      is=*) SCENARIO_RATIO_LABEL[$id]=${kv#is=} ;;
      protos=*) SCENARIO_PROTOS[$id]=${kv#protos=} ;;
      *) echo "scenario $id: unknown setting $kv" >&2 && return 1 ;;
    esac
  done
}

scenario floor 'floor: C spin -> C echo spin' ratio=/c-c 'is=floor / C blocking -> C echo'
scenario c-c 'C blocking -> C echo' 'is=(the baseline)'
scenario probe-c 'probe -> C echo' ratio=/c-c 'is=probe / C blocking, same server'
scenario c-lb 'C blocking -> loopback serve' ratio=/c-c 'is=loopback serve / C echo, C client'
scenario probe-lb 'probe -> loopback serve' ratio=/c-lb 'is=probe / C blocking, same server'
scenario sockperf 'sockperf pp -> sr (--full-rtt: RTT, not RTT/2)' ratio=probe-lb/sockperf \
  'is=probe->loopback serve / sockperf'
scenario cb-c 'C spin -> C echo' ratio=/c-c 'is=C spin / C blocking, same server'
scenario cb-lb 'C spin -> loopback serve' ratio=/c-lb 'is=C spin / C blocking, same server'
scenario probe-bp-c 'probe --busy-poll -> C echo' ratio=/cb-c 'is=probe --busy-poll / C spin, same server'
scenario probe-bp-lb 'probe --busy-poll -> loopback serve' ratio=/cb-lb \
  'is=probe --busy-poll / C spin, same server'
scenario fortio-load 'fortio load -> fortio echo' "is=(its histogram: -r $FORTIO_RES s buckets)"
scenario probe-fortio 'probe -> fortio echo' ratio=/fortio-load 'is=probe / fortio load, same server'
scenario c-socat 'C blocking -> socat (fork per peer)' ratio=/c-c 'is=socat / C echo, C client'
scenario probe-socat 'probe -> socat (fork per peer)' ratio=/c-socat 'is=probe / C blocking, same server'
scenario oneshot 'one-shot probe --count 1, start to exit' unit=ms ratio=/true 'is=one-shot / /bin/true'
scenario start 'probe --help, start to exit (Go start-up)' unit=ms protos=- ratio=/true \
  'is=probe --help / /bin/true'
scenario true '/bin/true, start to exit (process floor)' unit=ms protos=-

check_features() {
  BUSY_POLL=0
  if "$LB" probe --help 2>&1 | grep -q -- '--busy-poll'; then BUSY_POLL=1; fi
  raw "probe --busy-poll available: $BUSY_POLL"
}

# --- servers ---------------------------------------------------------------

declare -A SRV_PID=() SRV_PORT=()

# server NAME[@TAG]: starts that server unless it runs; sets PORT to its
# port. With @TAG it is a separate instance of NAME (the server suite starts a
# fresh one to measure its memory), stopped again with stop_server.
server() {
  local name=$1 base=${1%@*} out=$TMP/$1.out err=$TMP/$1.err tries
  if [ -n "${SRV_PID[$name]:-}" ] && alive "${SRV_PID[$name]}"; then
    PORT=${SRV_PORT[$name]}
    return 0
  fi
  case $base in
    c-echo)
      start_bg "$name" "$out" "$err" "$OUT/echo"
      ready "$BG_PID" has_line "$out" '^[0-9]' || return 1
      PORT=$(head -1 "$out") ;;
    lb)
      start_bg "$name" "$out" "$err" "$LB" serve --log-level warn --drain-timeout 1s --idle-timeout 0
      ready "$BG_PID" has_line "$out" '^udp://' || return 1
      PORT=$(sed -n 's|^tcp://127.0.0.1:||p' "$out") ;;
    fortio-tcp | fortio-udp)
      local p=${base#fortio-}
      start_bg "$name" "$out" "$err" "$OUT/fortio" "$p-echo" "-$p-port" 127.0.0.1:0
      ready "$BG_PID" has_line "$err" "listening on $p 127.0.0.1:" || return 1
      PORT=$(grep -o "listening on $p 127.0.0.1:[0-9]*" "$err" | head -1 | sed 's/.*://') ;;
    sockperf-tcp | sockperf-udp | socat-tcp | socat-udp | inetd)
      # These cannot take port 0: ask the kernel for a free one, and try again
      # if something else took it in between.
      for tries in 1 2 3; do
        free_port || return 1
        PORT=$FREE_PORT
        fixed_port_server "$base" "$PORT"
        start_bg "$name" "$out" "$err" "${FP_CMD[@]}"
        up_on "$BG_PID" "$base" "$PORT" && break
        stop_pid "$BG_PID"
        [ "$tries" = 3 ] && return 1
      done ;;
    *) echo "no server $name" >&2 && return 1 ;;
  esac
  SRV_PID[$name]=$BG_PID
  SRV_PORT[$name]=$PORT
  raw "server $name: pid $BG_PID, port $PORT"
}

# fixed_port_server NAME PORT: sets FP_CMD to the command line of a server
# that needs a port.
fixed_port_server() {
  case $1 in
    sockperf-tcp) FP_CMD=(sockperf sr --tcp -i 127.0.0.1 -p "$2") ;;
    sockperf-udp) FP_CMD=(sockperf sr -i 127.0.0.1 -p "$2") ;;
    # A forked UDP child serves one peer; -T 5 ends it once that peer is done.
    socat-tcp) FP_CMD=(socat "TCP-LISTEN:$2,bind=127.0.0.1,fork,reuseaddr" PIPE) ;;
    socat-udp) FP_CMD=(socat -T 5 "UDP-LISTEN:$2,bind=127.0.0.1,fork,reuseaddr" PIPE) ;;
    # inetd finds a built-in service by its name ("echo") and binds the port
    # that name has in /etc/services (7); a number in the config file is no
    # built-in. So it runs in a mount namespace of its own where a file of
    # ours, saying echo is PORT, is bind-mounted over /etc/services: the
    # machine's file stays as it is. -d keeps it in the foreground (and logs
    # each connection to its stderr); --pidfile with no file writes none; -R
    # lifts the limit of 1000 forks a minute, past which inetd would turn the
    # service off for ten minutes.
    inetd)
      printf 'echo\t%s/tcp\necho\t%s/udp\n' "$2" "$2" >"$TMP/inetd.services"
      printf '%s\n' '127.0.0.1:echo stream tcp nowait root internal' \
        '127.0.0.1:echo dgram udp wait root internal' >"$TMP/inetd.conf"
      # shellcheck disable=SC2016 # expanded by that sh, from its arguments
      FP_CMD=(unshare --mount --propagation private sh -c \
        'mount --bind "$1" /etc/services && exec "$2" -d --pidfile -R 1000000000 "$3"' \
        sh "$TMP/inetd.services" "$INETD" "$TMP/inetd.conf") ;;
  esac
}

# up_on PID NAME PORT: waits until server NAME (process PID) listens on
# PORT: for TCP and UDP for inetd, else for the protocol in its name.
up_on() {
  local proto protos=${2#*-}
  [ "$2" = inetd ] && protos="tcp udp"
  for proto in $protos; do
    ready "$1" listening "$proto" "$3" || return 1
  done
}

# stop_server NAME: stops one server that `server` started.
stop_server() {
  [ -n "${SRV_PID[$1]:-}" ] && stop_pid "${SRV_PID[$1]}"
  unset "SRV_PID[$1]" "SRV_PORT[$1]"
}

stop_servers() {
  local name
  for name in "${!SRV_PID[@]}"; do
    stop_pid "${SRV_PID[$name]}"
    unset "SRV_PID[$name]"
  done
}

# --- clients: each prints "P50 P99" in µs and logs its raw output -------------

# pingpong PROTO PORT [-b]
pingpong() {
  local out flags=()
  [ "$1" = udp ] && flags+=(-u)
  [ -n "${3:-}" ] && flags+=("$3")
  out=$(bounded "$OUT/pingpong" "${flags[@]}" -n "$COUNT" -w "$WARMUP" -s "$SIZE" 127.0.0.1 "$2")
  raw "  $out"
  echo "$(pingpong_pct "$out" p50) $(pingpong_pct "$out" p99)"
}

# probe URL [FLAG...]
probe() {
  local url=$1 out
  shift
  out=$(bounded "$LB" probe "$url" --count "$COUNT" --warmup "$WARMUP" --size "$SIZE" \
    --json --log-level warn "$@")
  raw "  $out"
  echo "$(probe_pct "$out" p50) $(probe_pct "$out" p99)"
}

# --- scenarios -------------------------------------------------------------

scn_floor() {
  local out=$TMP/echo-spin.out rc=0 pid
  start_bg echo-spin "$out" "$TMP/echo-spin.err" "$OUT/echo" -b
  pid=$BG_PID
  # The spinning server holds a whole core: stop it before anything else runs.
  if ready "$pid" has_line "$out" '^[0-9]'; then
    pingpong "$1" "$(head -1 "$out")" -b || rc=$?
  else
    rc=1
  fi
  stop_pid "$pid"
  return "$rc"
}

scn_c_c() { server c-echo && pingpong "$1" "$PORT"; }
scn_probe_c() { server c-echo && probe "$1://127.0.0.1:$PORT"; }
scn_c_lb() { server lb && pingpong "$1" "$PORT"; }
scn_probe_lb() { server lb && probe "$1://127.0.0.1:$PORT"; }
scn_cb_c() { server c-echo && pingpong "$1" "$PORT" -b; }
scn_cb_lb() { server lb && pingpong "$1" "$PORT" -b; }
scn_c_socat() { server "socat-$1" && pingpong "$1" "$PORT"; }
scn_probe_socat() { server "socat-$1" && probe "$1://127.0.0.1:$PORT"; }

scn_probe_bp_c() {
  [ "$BUSY_POLL" = 1 ] || { echo "skip probe --help lists no --busy-poll yet"; return 0; }
  server c-echo && probe "$1://127.0.0.1:$PORT" --busy-poll
}
scn_probe_bp_lb() {
  [ "$BUSY_POLL" = 1 ] || { echo "skip probe --help lists no --busy-poll yet"; return 0; }
  server lb && probe "$1://127.0.0.1:$PORT" --busy-poll
}

# sockperf reports half the round trip unless told --full-rtt; --no-rdtsc
# makes it read CLOCK_MONOTONIC like every other client here. It measures for
# a time, not a count, after its own warm-up.
scn_sockperf() {
  local out flags=()
  [ "$1" = tcp ] && flags+=(--tcp)
  server "sockperf-$1" || return 1
  out=$(bounded sockperf pp "${flags[@]}" -i 127.0.0.1 -p "$PORT" -m "$SIZE" -t "$SOCKPERF_SECONDS" \
    --full-rtt --no-rdtsc 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
  grep -E 'Valid Duration|observations|percentile (50|99)\.000' <<<"$out" | sed 's/^/  /' >>"$RESULTS"
  echo "$(sockperf_pct "$out" 50.000) $(sockperf_pct "$out" 99.000)"
}

scn_fortio_load() {
  local json=$TMP/fortio.json out
  server "fortio-$1" || return 1
  rm -f "$json"
  out=$(bounded "$OUT/fortio" load -quiet -qps 0 -c 1 -n "$COUNT" -r "$FORTIO_RES" -p 50,99 \
    -payload-size "$SIZE" -json "$json" "$1://127.0.0.1:$PORT" 2>&1)
  grep -E '^# target|OK :|All done' <<<"$out" | sed 's/^/  /' >>"$RESULTS"
  echo "$(fortio_pct "$json" 50) $(fortio_pct "$json" 99)"
}
scn_probe_fortio() { server "fortio-$1" && probe "$1://127.0.0.1:$PORT"; }

# hyperfine runs each command without a shell (-N); we subtract nothing. The
# BENCH_ONESHOT_RUNS starts are spread over the runs, at least 10 per run.
oneshot_times() {
  local json=$TMP/hyperfine.json n=$(((ONESHOT_RUNS + RUNS - 1) / RUNS))
  ((n >= 10)) || n=10
  bounded hyperfine -N --style basic --runs "$n" --warmup 2 --export-json "$json" "$1" \
    >>"$RESULTS" 2>&1 || return 1
  hyperfine_pcts "$json" 0
}
scn_oneshot() {
  server lb && oneshot_times "$LB probe $1://127.0.0.1:$PORT --count 1 --warmup 0 --log-level warn"
}
scn_start() { oneshot_times "$LB probe --help"; }
scn_true() { oneshot_times /bin/true; }

# --- goals -----------------------------------------------------------------

goals() {
  local proto P
  for proto in $PROTOS; do
    P=${proto^^}
    goal_line "default mode $P vs C echo" "$(ratio probe-c c-c "$proto")" "x the blocking C client" \
      le 1.05 "<= 1.05x"
    goal_line "default mode $P vs loopback serve" "$(ratio probe-lb c-lb "$proto")" \
      "x the blocking C client" le 1.05 "<= 1.05x"
    goal_line "default mode $P vs sockperf" "$(ratio probe-lb sockperf "$proto")" \
      "x sockperf pp's p50 (probe -> loopback serve)" le 1.00 "<= 1.00x"
    goal_line "--busy-poll $P vs C echo" "$(ratio probe-bp-c cb-c "$proto")" "x the spinning C client" \
      le 1.10 "<= 1.10x"
    goal_line "--busy-poll $P vs loopback serve" "$(ratio probe-bp-lb cb-lb "$proto")" \
      "x the spinning C client" le 1.10 "<= 1.10x"
    goal_line "fortio echo $P: probe vs fortio load" "$(ratio probe-fortio fortio-load "$proto")" \
      "x fortio load's p50" near 0.10 "within 10%"
    goal_line "one-shot $P probe --count 1" "$(median $(values P50 oneshot "$proto"))" \
      " ms median, start to exit" le 5 "<= 5 ms"
  done
}
