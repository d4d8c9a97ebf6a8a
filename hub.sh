#!/usr/bin/env bash
# Starts the AIP hub, building hub-server/target/hub-server.jar first when it is missing or older
# than the sources. Arguments go to the hub: ./hub.sh --help
set -euo pipefail
cd "$(dirname "$0")"
jar=hub-server/target/hub-server.jar
if [ ! -f "$jar" ] || [ -n "$(find hub-core/src/main hub-server/src/main pom.xml hub-core/pom.xml hub-server/pom.xml -newer "$jar" -print -quit)" ]; then
  echo "Building $jar ..." >&2
  mvn -B -q -Dmaven.test.skip=true -Dspotless.check.skip -Djacoco.skip -pl hub-server -am package >&2
fi
exec java ${HUB_JAVA_OPTS:-} -jar "$jar" "$@"
