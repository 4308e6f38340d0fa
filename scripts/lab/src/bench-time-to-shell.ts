// Benchmark, not a test: repeats the demo's flow N times in one lab and prints
// min / median / max "time to shell" (from `support create` starting to the
// first output of `support command <id> -- hostname`).
// Usage: node scripts/lab/dist/bench-time-to-shell.js [N=5]
import { DemoWorld } from "./demo";
import { missingLab } from "./prerequisites";

async function once(
  world: DemoWorld,
  device: Parameters<DemoWorld["request"]>[0],
): Promise<number> {
  const { tunnelId, presharedKey } = await world.request(device, "benchmark");
  const started = performance.now();
  const created = await world.support(["create", tunnelId, "--psk", "-"], {
    input: presharedKey + "\n",
  });
  if (created.exitCode !== 0) throw new Error(`create failed: ${created.stderr}`);
  let first: number | null = null;
  const command = world.supportProcess(["command", tunnelId, "--", "hostname"]);
  command.stdout?.once("data", () => (first ??= performance.now()));
  const result = await command;
  if (result.exitCode !== 0) throw new Error(`command failed: ${String(result.stderr)}`);
  const seconds = ((first ?? performance.now()) - started) / 1000;
  const stopped = await world.support(["stop", tunnelId]);
  if (stopped.exitCode !== 0) throw new Error(`stop failed: ${stopped.stderr}`);
  return seconds;
}

async function bench(runs: number): Promise<void> {
  const missing = missingLab();
  if (missing) throw new Error(`the benchmark ${missing}`);
  const world = await DemoWorld.start((l) => process.stderr.write(`${l}\n`));
  try {
    const device = await world.addDevice("device");
    const times: number[] = [];
    for (let i = 1; i <= runs; i++) {
      const t = await once(world, device);
      times.push(t);
      process.stdout.write(`run ${i}/${runs}: time to shell ${t.toFixed(2)} s\n`);
    }
    times.sort((a, b) => a - b);
    const median =
      times.length % 2
        ? times[(times.length - 1) / 2]!
        : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;
    process.stdout.write(
      `time to shell over ${runs} runs: min ${times[0]!.toFixed(2)} s, median ${median.toFixed(2)} s, max ${times[times.length - 1]!.toFixed(2)} s\n`,
    );
  } finally {
    await world.stop();
  }
}

if (require.main === module) {
  const runs = Number(process.argv[2] ?? 5);
  if (!Number.isInteger(runs) || runs < 1) {
    process.stderr.write("usage: bench-time-to-shell [N]\n");
    process.exit(2);
  }
  bench(runs).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(
        `benchmark failed: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
