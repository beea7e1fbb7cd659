#!/bin/sh
# Pull deploy from a template: mackerel-replacer fills in each variable before the launch.
# artifact: the build this deploy ships (--var, or promoted as it is from staging);
# mackerel_role: each environment's own (vars: in the config), never promoted.
set -eu
aws s3 cp "${artifact}" /tmp/app.tar.gz
mkdir -p /opt/reactio && tar -xzf /tmp/app.tar.gz -C /opt/reactio
apikey="$(aws ssm get-parameter --name /reactio/mackerel-apikey --with-decryption --query Parameter.Value --output text)"
cat > /etc/mackerel-agent/mackerel-agent.conf <<CONF
apikey = "$${apikey}"
roles = ["${mackerel_role}"]

[host_status]
on_start = "working"
CONF
systemctl start reactio-web
systemctl restart mackerel-agent
