// npm run chaos -- [--runs N] [--seed S] [--path P]
// Whole deploys under generated fault schedules, most against the in-memory fakes on a fake clock
// and a share against the sandbox over HTTP, plus the pinned runs on both (a kill -9 at every step
// boundary among them), each judged against DESIGN.md's invariants. Prints the figures; exits 1
// on any failure. Everything it runs lives in scripts/chaos/: the published build holds no test/.
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { runChaos } from './chaos/chaos.js';
import { formatFigures } from './chaos/figures.js';

const usage = 'usage: npm run chaos -- [--runs N] [--seed S] [--path P]   (--path replays one counterexample of seed S)';

const integer = (value: string | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) {
    console.error(`--${name} takes an integer, got "${value}"\n${usage}`);
    process.exit(2);
  }
  return Number(value);
};

const parse = () => {
  try {
    return parseArgs({ options: { runs: { type: 'string' }, seed: { type: 'string' }, path: { type: 'string' } }, strict: true });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exit(2);
  }
};
const { values } = parse();
// A replay runs the one schedule at the path (and shrinks it further).
const runs = integer(values.runs, 'runs', values.path === undefined ? 200 : 1);
const seed = integer(values.seed, 'seed', randomInt(2 ** 31));
const replay = values.path === undefined ? '' : ` --path "${values.path}"`;
console.log(
  `chaos: ${values.path === undefined ? `${runs} generated schedules plus the pinned runs (every crash point among them)` : 'replaying one counterexample'}, seed ${seed}${replay}`,
);

const t0 = performance.now();
const result = await runChaos({ runs, seed, shrink: true, path: values.path });
const wallMs = performance.now() - t0;

for (const failure of result.failures) console.log(`\nFAILED: ${failure}`);
console.log(`\ncommand: npm run chaos -- --runs ${runs} --seed ${seed}${replay}`);
for (const line of formatFigures(result.figures, wallMs)) console.log(line);
process.exitCode = result.failures.length > 0 ? 1 : 0;
