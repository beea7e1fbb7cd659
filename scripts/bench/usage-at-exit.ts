// Loaded with `node --import` into a process the bench runs: at its exit, writes the process's CPU
// seconds and peak RSS to $BENCH_USAGE_FILE, so the numbers are the process's own, whatever it loaded.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_USAGE_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
    writeFileSync(file, JSON.stringify({ cpuSeconds, peakRssMb: usage.maxRSS / 1024 }));
  });
}
