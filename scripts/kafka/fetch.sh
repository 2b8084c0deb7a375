#!/usr/bin/env bash
# Copies the runtime jars of an Apache Kafka broker into <repo>/.cache/kafka/<version>/libs with
# Maven, so tests and developers can run a real broker without a Kafka distribution or Docker.
# Idempotent: a finished copy is marked by libs/.complete, which holds a checksum of pom.xml; the
# jars are copied again only when the pom changed since (e.g. a dependency was added).
#
# Usage: scripts/kafka/fetch.sh [version]      (default: kafka.version in scripts/kafka/pom.xml,
#                                               or $KAFKA_VERSION)
# Prints the libs directory on its last line of output.
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$script_dir/../.." && pwd)"
pom="$script_dir/pom.xml"

default_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n 1)"
version="${1:-${KAFKA_VERSION:-$default_version}}"
if [[ -z "$version" ]]; then
  echo "fetch.sh: cannot read <kafka.version> from $pom; pass a version: fetch.sh 4.1.1" >&2
  exit 2
fi

version_dir="$repo_root/.cache/kafka/$version"
libs="$version_dir/libs"
# cksum is POSIX, so this runs unchanged on Linux and macOS.
stamp="pom.xml cksum $(cksum <"$pom" | cut -d' ' -f1,2)"

up_to_date() {
  [[ -f "$libs/.complete" && "$(cat "$libs/.complete")" == "$stamp" ]]
}

if up_to_date; then
  echo "kafka $version: jars already cached in $libs"
  echo "$libs"
  exit 0
fi
if [[ -f "$libs/.complete" ]]; then
  echo "kafka $version: $pom changed since the jars were cached; copying them again"
fi

if ! command -v mvn >/dev/null 2>&1; then
  echo "fetch.sh: 'mvn' (Apache Maven) is not on PATH; it is needed once to download the Kafka $version jars." >&2
  echo "          Install Maven (Debian/Ubuntu: apt-get install maven; macOS: brew install maven) and rerun." >&2
  exit 127
fi
if [[ -z "${JAVA_HOME:-}" ]] && ! command -v java >/dev/null 2>&1; then
  echo "fetch.sh: 'java' is not on PATH and JAVA_HOME is unset; Maven and Kafka need a JDK 17 or newer." >&2
  exit 127
fi

mkdir -p "$version_dir"
# Copy into a private directory and rename it into place, so a concurrent or interrupted run
# never leaves a half-filled libs directory that looks usable.
staging="$(mktemp -d "$version_dir/libs.partial.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

started=$SECONDS
echo "kafka $version: copying runtime jars with Maven into $libs ..."
# Maven's output is kept out of the way unless it failed: on success it is only colour codes.
mvn_log="$version_dir/mvn.log"
if ! mvn -q -B -Dstyle.color=never -f "$pom" -Dkafka.version="$version" \
  dependency:copy-dependencies -DoutputDirectory="$staging" -DincludeScope=runtime \
  >"$mvn_log" 2>&1; then
  cat "$mvn_log" >&2
  echo "fetch.sh: Maven could not resolve org.apache.kafka:kafka_2.13:$version (its output is above)." >&2
  exit 1
fi
if ! compgen -G "$staging/kafka_2.13-$version.jar" >/dev/null; then
  echo "fetch.sh: Maven finished but kafka_2.13-$version.jar is missing from $staging." >&2
  exit 1
fi
chmod 755 "$staging"
echo "$stamp" >"$staging/.complete"

if up_to_date; then
  # Another run finished first; its copy is as good as ours.
  echo "kafka $version: jars already cached in $libs"
else
  # Two renames, so libs is missing only for the moment between them; a broker running from the
  # old copy keeps the jars it has open.
  old=""
  if [[ -e "$libs" ]]; then
    old="$(mktemp -d "$version_dir/libs.old.XXXXXX")"
    mv "$libs" "$old/libs"
  fi
  mv "$staging" "$libs"
  if [[ -n "$old" ]]; then rm -rf "$old"; fi
  count="$(find "$libs" -name '*.jar' | wc -l)"
  size="$(du -sh "$libs" | cut -f1)"
  echo "kafka $version: fetched $count jars ($size) in $((SECONDS - started)) s"
fi
echo "$libs"
