#!/usr/bin/env bash
# Syntax check of every Groovy file of the pipeline with Debian's groovy (see scripts/check-groovy.groovy).
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
export JAVA_HOME
exec groovy scripts/check-groovy.groovy Jenkinsfile jenkins/vars/*.groovy
