#!/usr/bin/env bash
# Runs a single-node Apache Kafka broker (KRaft, broker + controller in one JVM) in the
# foreground for local development: fetches the jars if needed, formats a fresh data dir,
# starts the broker, prints its bootstrap address once it is up. Ctrl-C stops it.
#
# Usage: scripts/kafka/start.sh [--port 9092] [--controller-port 9093] [--data-dir DIR]
#                               [--keep] [--version 4.1.1] [--heap-mb 512]
#   --data-dir DIR  where data, logs and server.properties live
#                   (default: <repo>/.cache/kafka/run-<port>)
#   --keep          reuse the data already in the data dir instead of starting empty
# Then: KAFKA_BROKERS=127.0.0.1:<port> npm test
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"

port=9092
controller_port=9093
data_dir=""
keep=false
version="${KAFKA_VERSION:-}"
heap_mb=512

usage() { sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
need_value() { [[ $# -ge 2 && -n "$2" ]] || { echo "start.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) need_value "$@"; port="$2"; shift 2 ;;
    --controller-port) need_value "$@"; controller_port="$2"; shift 2 ;;
    --data-dir) need_value "$@"; data_dir="$2"; shift 2 ;;
    --keep) keep=true; shift ;;
    --version) need_value "$@"; version="$2"; shift 2 ;;
    --heap-mb) need_value "$@"; heap_mb="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "start.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
for value in "$port" "$controller_port" "$heap_mb"; do
  [[ "$value" =~ ^[0-9]+$ ]] || { echo "start.sh: '$value' is not a number" >&2; exit 2; }
done
[[ "$port" != "$controller_port" ]] || {
  echo "start.sh: --port and --controller-port must differ (both are $port)" >&2
  exit 2
}

if [[ -n "${JAVA_HOME:-}" ]]; then java="$JAVA_HOME/bin/java"; else java="$(command -v java || true)"; fi
if [[ -z "$java" || ! -x "$java" ]]; then
  echo "start.sh: no java found (JAVA_HOME is unset and 'java' is not on PATH)." >&2
  echo "          Kafka 4 needs a JDK 17 or newer (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless)." >&2
  exit 127
fi

fetch_output="$("$script_dir/fetch.sh" ${version:+"$version"})"
printf '%s\n' "$fetch_output" | sed '$d'
libs="$(printf '%s\n' "$fetch_output" | tail -n 1)"
version="$(basename "$(dirname "$libs")")"

data_dir="${data_dir:-$repo_root/.cache/kafka/run-$port}"
marker="$data_dir/.streamclust-kafka"
if [[ -e "$data_dir" && ! -e "$marker" && -n "$(ls -A "$data_dir")" ]]; then
  # Refuse rather than wipe a directory this script did not create.
  echo "start.sh: $data_dir is not empty and was not made by start.sh; choose another --data-dir." >&2
  exit 2
fi
if [[ "$keep" == true && -f "$data_dir/data/meta.properties" ]]; then
  echo "kafka $version: reusing the data in $data_dir"
else
  rm -rf "$data_dir"
fi
mkdir -p "$data_dir/data" "$data_dir/logs"
touch "$marker"

properties="$data_dir/server.properties"
cat >"$properties" <<PROPERTIES
# Written by scripts/kafka/start.sh: one node that is both broker and KRaft controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data_dir/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=1
PROPERTIES

jvm_flags=(-cp "$libs/*" "-Dlog4j2.configurationFile=$script_dir/log4j2.yaml"
  "-Dkafka.logs.dir=$data_dir/logs" -Djava.awt.headless=true)
if [[ ! -f "$data_dir/data/meta.properties" ]]; then
  cluster_id="$("$java" "${jvm_flags[@]}" kafka.tools.StorageTool random-uuid)"
  "$java" "${jvm_flags[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$properties"
fi

log="$data_dir/logs/server.log"
: >"$log"
echo "kafka $version: starting on 127.0.0.1:$port (controller 127.0.0.1:$controller_port), log: $log"
"$java" "-Xmx${heap_mb}m" "${jvm_flags[@]}" kafka.Kafka "$properties" &
broker_pid=$!
# Forward Ctrl-C / kill to the JVM so it shuts down cleanly and flushes its logs.
trap 'kill -TERM "$broker_pid" 2>/dev/null || true' INT TERM

until grep -q 'Kafka Server started' "$log" 2>/dev/null; do
  if ! kill -0 "$broker_pid" 2>/dev/null; then
    echo "start.sh: the broker exited during start; the end of $log:" >&2
    tail -n 40 "$log" >&2
    wait "$broker_pid" || exit $?
    exit 1
  fi
  sleep 0.2
done
echo "kafka $version: ready. Bootstrap address: 127.0.0.1:$port"
echo "  KAFKA_BROKERS=127.0.0.1:$port npm test     (Ctrl-C stops the broker)"

# wait returns early when a trapped signal arrives; wait again for the JVM's own exit.
status=0
wait "$broker_pid" || status=$?
if kill -0 "$broker_pid" 2>/dev/null; then wait "$broker_pid" || status=$?; fi
exit "$status"
