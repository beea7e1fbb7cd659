#!/usr/bin/env bash
# Runs the Jenkinsfile and jenkins/vars/*.groovy with stub pipeline steps under Debian's groovy, one
# scenario at a time (test/jenkins/harness.groovy, test/jenkins/scenarios.groovy).
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
export JAVA_HOME
exec groovy test/jenkins/harness.groovy
