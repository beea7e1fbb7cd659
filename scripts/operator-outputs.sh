#!/bin/sh
# Reproduces the README's "Jenkins" outputs against a fresh sandbox (examples/promotion.yml): a staging
# plan, a staging deploy, a staging deploy rolled back by an injected fault, hosts, and a production
# plan and deploy promoted from staging. Run after `npm run build`: sh scripts/operator-outputs.sh [port]
set -u
port="${1:-4593}"
cli="node dist/src/cli/bin.js"
config=examples/promotion.yml
artifact=s3://reactio-builds/web/app-3f9c2e1.tar.gz
$cli sandbox --config "$config" --port "$port" >/dev/null 2>&1 &
sandbox=$!
trap 'kill "$sandbox"' EXIT
sleep 2
export MACKEREL_APIKEY=sandbox MACKEREL_APIBASE="http://127.0.0.1:$port" AWS_ENDPOINT_URL="http://127.0.0.1:$port" \
  AWS_REGION=ap-northeast-1 AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox AWS_EC2_METADATA_DISABLED=true \
  NODE_NO_WARNINGS=1 MACKEREL_REPLACER_JOURNAL_DIR="$(mktemp -d)"
run() {
  echo "\$ mackerel-replacer $*"
  $cli "$@" 2>&1
  echo "(exit $?)"
  echo
}
run plan --config "$config" --env staging --role web --var "artifact=$artifact"
run replace --config "$config" --env staging --role web --var "artifact=$artifact"
echo "\$ curl -X POST localhost:$port/_sandbox/faults -d '[{\"type\":\"die-while-booting\",\"count\":1}]'"
curl -s -X POST "http://127.0.0.1:$port/_sandbox/faults" -d '[{"type":"die-while-booting","count":1}]' >/dev/null
echo
run replace --config "$config" --env staging --role web --var "artifact=$artifact"
run hosts --config "$config" --env staging --role web
echo "\$ curl -X POST localhost:$port/_sandbox/world -d '[{\"op\":\"add-image\",\"name\":\"reactio-web-2026-11-29\",\"like\":\"ami-00000000000000001\"}]'  # a build newer than staging's"
curl -s -X POST "http://127.0.0.1:$port/_sandbox/world" -d '[{"op":"add-image","name":"reactio-web-2026-11-29","like":"ami-00000000000000001"}]' >/dev/null
echo
run plan --config "$config" --env production --role web --promote-from staging
run replace --config "$config" --env production --role web --promote-from staging
echo "\$ curl localhost:$port/_sandbox/state  # the graph annotations"
curl -s "http://127.0.0.1:$port/_sandbox/state" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const a of JSON.parse(s).annotations)console.log(a.service, a.title)})'
