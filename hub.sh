#!/usr/bin/env bash
# Starts the AIP hub, building hub-server/target/hub-server.jar first when it is missing or older
# than the sources. Needs only a JDK 17+: the build runs through the Maven wrapper (./mvnw), which
# fetches Maven itself on first use. Arguments go to the hub: ./hub.sh --help
#
# The build compiles the tests without running them (-DskipTests, not -Dmaven.test.skip):
# hub-server's tests depend on hub-core's test-jar, which a build that skips test compilation never
# makes, so on an empty local repository it could not resolve.
set -euo pipefail
cd "$(dirname "$0")"
jar=hub-server/target/hub-server.jar
if [ ! -f "$jar" ] || [ -n "$(find hub-core/src/main hub-server/src/main pom.xml hub-core/pom.xml hub-server/pom.xml -newer "$jar" -print -quit)" ]; then
  echo "Building $jar (first run: a minute or two) ..." >&2
  ./mvnw -B -q -DskipTests -Dspotless.check.skip -Djacoco.skip -Dmaven.javadoc.skip \
    -pl hub-server -am package >&2
fi
# Exit at once on OutOfMemoryError (code 3) so that a supervisor restarts the hub; options in
# HUB_JAVA_OPTS come after, so they can add to or override it. deploy/aip-hub.service passes the
# same options (its JAVA_OPTS, then HUB_JAVA_OPTS): change both together (SystemdUnitTest checks).
exec java -XX:+ExitOnOutOfMemoryError ${HUB_JAVA_OPTS:-} -jar "$jar" "$@"
