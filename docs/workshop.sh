#!/usr/bin/env bash
# docs/workshop.sh: every command of docs/workshop.md that needs no person
# at the keyboard, in the order the workshop runs them. The doc quotes these
# commands and a test (workshop_test.go) runs this script, so the workshop
# cannot drift from the tool. Run it yourself: bash docs/workshop.sh [N]
# runs every exercise, or exercise N alone. It needs loopback on PATH, and
# nc and python3; everything goes to 127.0.0.1, and every server it starts
# stops by itself (--duration) or is stopped by PID.
set -euo pipefail
WS=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do loopback stop "$pid" >/dev/null 2>&1 || true; done
  rm -rf "$WS"
}
trap cleanup EXIT

# run prints a command as the doc shows it, then runs it.
run() { printf '$ %s\n' "$*"; eval "$@"; }

# start puts a server in the background with the given flags, once it is
# bound, and sets PORT, PID and LOG.
start() {
  run "eval \"\$(loopback serve --detach --env --duration 60s $*)\""
  PORT=$LOOPBACK_PORT PID=$LOOPBACK_PID LOG=$LOOPBACK_LOG
  pids+=("$PID")
}

# finish stops the server and shows what it narrated.
finish() {
  loopback stop "$PID" >/dev/null
  cat "$LOG"
}

exercise1() {
  echo "## 1. Your first listener"
  start --trace
  run "printf 'hello\n' | nc -q1 127.0.0.1 $PORT"
  run "printf 'ping\n' | nc -u -W1 -w2 127.0.0.1 $PORT"
  finish | sed -E 's/^[0-9:.]+  //'
  start
  run "loopback probe tcp://127.0.0.1:$PORT --trace --count 2 --warmup 0 2>&1 >/dev/null | sed -E 's/^[0-9:.]+  //'"
  loopback stop "$PID" >/dev/null
}

exercise2() {
  echo "## 2. TCP is a stream, UDP keeps boundaries"
  start --trace
  run "python3 -c \"
import socket, time
t = socket.create_connection(('127.0.0.1', $PORT))
for word in (b'one ', b'two ', b'three '):
    t.sendall(word)
time.sleep(0.2)
print('TCP gave back', repr(t.recv(100)))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(2)
for word in (b'one ', b'two ', b'three '):
    u.sendto(word, ('127.0.0.1', $PORT))
print('UDP gave back', [u.recv(100) for _ in range(3)])
\""
  finish | grep -E 'read|datagram of' | sed -E 's/^[0-9:.]+  //'
}

exercise3() {
  echo "## 3. Ports: in use, privileged, ephemeral"
  start
  run "loopback serve --port $PORT --duration 1s || echo \"exit status \$?\""
  run "loopback explain 127.0.0.1:80 | head -4"
  run "loopback explain 127.0.0.1:$PORT | head -4"
  run "loopback who $PORT"
  loopback stop "$PID" >/dev/null
}

exercise4() {
  echo "## 4. The life of a connection"
  start
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" # bash's own TCP client: a connection held open
  printf 'x' >&3 && read -r -N1 _ <&3  # one round trip: the server has accepted it
  run "loopback who $PORT"
  exec 3>&- # the client closes first, so its side keeps TIME_WAIT
  loopback stop "$PID" >/dev/null
  run "loopback who $PORT || true"
  run "loopback explain 127.0.0.1:$PORT | grep -i time"
}

exercise5() {
  echo "## 5. Measuring: TCP, UDP and Unix sockets"
  if command -v ping >/dev/null; then
    run "ping -c 5 -i 0.2 -q 127.0.0.1 | tail -1"
  fi
  run "loopback check --all --count 2000"
  start
  run "loopback probe tcp://127.0.0.1:$PORT --count 2000 -q"
  run "loopback probe udp://127.0.0.1:$PORT --count 2000 -q"
  loopback stop "$PID" >/dev/null
}

exercise6() {
  echo "## 6. Nagle's algorithm and the delayed ACK"
  start --message-size 64
  run "loopback probe tcp://127.0.0.1:$PORT --size 64 --count 20 --split --nodelay=false -q"
  run "loopback probe tcp://127.0.0.1:$PORT --size 64 --count 20 --split -q"
  loopback stop "$PID" >/dev/null
}

main() {
  if [ $# -gt 0 ]; then "exercise$1"; return; fi
  for n in 1 2 3 4 5 6; do "exercise$n"; echo; done
}
main "$@"
