#!/bin/sh
# Pull deploy: the instance fetches the application at boot, then starts mackerel-agent.
set -eu
aws s3 cp s3://reactio-artifacts/web/current.tar.gz /tmp/app.tar.gz
mkdir -p /opt/reactio && tar -xzf /tmp/app.tar.gz -C /opt/reactio
systemctl start reactio-web mackerel-agent
