// Runs the `support` CLI in this process, as its specs do, capturing what it prints.
import { main } from "../cli";

export interface SupportRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runSupport(
  env: Record<string, string>,
  ...args: string[]
): Promise<SupportRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(["node", "support", ...args], {
    stdout: { write: (s: string) => ((stdout += s), true) } as never,
    stderr: { write: (s: string) => ((stderr += s), true) } as never,
    env,
  });
  return { code, stdout, stderr };
}
