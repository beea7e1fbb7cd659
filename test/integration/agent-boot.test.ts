// The agent boots as on a real instance: it registers from the image's config, and the user data
// (cloud-final) takes effect only where it restarts the agent. The tool waits `verify.roleGrace`
// for a host without the role before it fails.
import { afterEach, describe, expect, it } from 'vitest';
import { live } from './expect.js';
import { type World, configYaml, startWorld } from './harness.js';
import { writeConfig } from './refusals.js';

let world: World;
afterEach(() => world?.close());

// The sandbox is seeded with web and worker; the batch role then launches from the worker image,
// whose agent is baked with the worker role.
const userData = (agent: 'restart' | 'start') =>
  `#!/bin/sh\ncat > /etc/mackerel-agent/mackerel-agent.conf <<'EOF'\nroles = ["reactio-staging:batch"]\nEOF\nsystemctl ${agent} mackerel-agent\n`;
const batch = (grace: string) =>
  configYaml().replace('      worker:', `      batch:\n        userDataFile: user_data/boot.sh\n        verify: { roleGrace: ${grace} }`);

const replaceBatch = () => world.cli('replace', '--config', world.configPath, '--role', 'batch', '--allow-empty');

describe('the agent starts from the image config, the user data runs after it', () => {
  it('a user data that restarts the agent after writing its roles passes: the host gains the role within the grace', async () => {
    world = await startWorld(configYaml(), { userData: userData('restart') });
    await writeConfig(world, batch('2m'));
    const run = await replaceBatch();
    expect(run.code, run.stderr).toBe(0);
    expect(live(await world.state(), 'batch').hosts).toHaveLength(2);
  });

  it('one that writes the roles without restarting fails after the grace, naming the instance and the fix', async () => {
    world = await startWorld(configYaml(), { userData: userData('start') });
    await writeConfig(world, batch('500ms'));
    const run = await replaceBatch();
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(run.stderr).toMatch(
      /instance i-\w+ registered as host \w+ with roles reactio-staging:worker, not reactio-staging:batch: set roles = \["reactio-staging:batch"\] in its mackerel-agent.conf \(user data that writes it must restart the agent: systemctl restart mackerel-agent\)/,
    );
    expect(live(await world.state(), 'batch').running).toEqual([]);
  });
});
