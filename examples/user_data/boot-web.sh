#!/bin/sh
# Pull deploy: the instance fetches the application at boot, then restarts mackerel-agent (which
# started from the image's config before the user data ran) so that it takes this config.
set -eu
aws s3 cp s3://reactio-artifacts/web/current.tar.gz /tmp/app.tar.gz
mkdir -p /opt/reactio && tar -xzf /tmp/app.tar.gz -C /opt/reactio
# mackerel-agent takes its roles from its config, never from EC2 tags. Without on_start a new host
# keeps the organization's default status (standby unless changed); working alerts at once.
apikey="$(aws ssm get-parameter --name /reactio/mackerel-apikey --with-decryption --query Parameter.Value --output text)"
cat > /etc/mackerel-agent/mackerel-agent.conf <<CONF
apikey = "$apikey"
roles = ["reactio-staging:web"]

[host_status]
on_start = "working"
CONF
systemctl start reactio-web
systemctl restart mackerel-agent
