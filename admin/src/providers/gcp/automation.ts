// The narrow seam between the gcp provider and Pulumi: one stack per tunnel, run
// through the Automation API (which drives the `pulumi` CLI). Tests use a fake.
import { mkdir } from "node:fs/promises";
import type { PulumiFn } from "@pulumi/pulumi/automation";
import { gcpPluginVersion, loadAutomation } from "./lazy";
import { findOnPath, PULUMI_MISSING } from "./preflight";

export interface AutomationAdapter {
  /** Creates (or selects) the stack, runs the program, returns the stack outputs. */
  up(
    stackName: string,
    program: PulumiFn,
    options: { onOutput?: (line: string) => void; signal?: AbortSignal },
  ): Promise<Record<string, unknown>>;
  /**
   * Destroys the stack's resources; a stack that does not exist is already
   * destroyed. Resolves to whether the stack existed.
   */
  destroy(stackName: string, options: { onOutput?: (line: string) => void }): Promise<boolean>;
  /** Removes the stack's record from the backend; absent is fine. */
  removeStack(stackName: string): Promise<void>;
  listStacks(): Promise<string[]>;
}

export interface PulumiAutomationSettings {
  projectName: string;
  backendUrl: string;
  configPassphrase: string;
  /** Extra environment for the `pulumi` CLI (credentials, PATH, HOME). */
  env: Readonly<Record<string, string | undefined>>;
}

/** Pulumi's error when a stack is not in the backend; destroy and remove treat it as done. */
export function isMissingStackError(err: unknown): boolean {
  const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /StackNotFoundError|no stack named|stack .* not found/i.test(text);
}

/**
 * Pulumi's CommandError carries the whole stdout and stderr of the CLI; an engineer
 * needs the line that says what went wrong (`error: ...`), not the transcript.
 */
export function pulumiErrorSummary(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!/\bstderr:/.test(message)) return message;
  const lines = message
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^(code|stdout|stderr|err\?):/.test(l));
  const errors = lines.filter((l) => /\berror\b/i.test(l) && !/^Error: Command failed/.test(l));
  const chosen = [...new Set(errors.length ? errors : lines.slice(-1))];
  const text = chosen.slice(-3).join("; ");
  return text.length > 600 ? `${text.slice(0, 597)}...` : text || message.slice(0, 600);
}

/** The real adapter: `LocalWorkspace` with an inline program and our backend. */
export class PulumiAutomation implements AutomationAdapter {
  constructor(private readonly settings: PulumiAutomationSettings) {}

  private envVars(): Record<string, string> {
    const vars: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.settings.env)) if (v !== undefined) vars[k] = v;
    vars.PULUMI_BACKEND_URL = this.settings.backendUrl;
    // Our stacks hold no secrets; the passphrase only unlocks the file backend.
    vars.PULUMI_CONFIG_PASSPHRASE = this.settings.configPassphrase;
    vars.PULUMI_SKIP_UPDATE_CHECK = "true";
    return vars;
  }

  private async automation() {
    // Without the CLI the Automation API fails deep inside a spawn; say it plainly.
    if (!findOnPath("pulumi", this.settings.env)) throw new Error(PULUMI_MISSING);
    return loadAutomation();
  }

  private async workspaceDir(): Promise<void> {
    const url = this.settings.backendUrl;
    if (url.startsWith("file://")) {
      await mkdir(url.slice("file://".length), { recursive: true, mode: 0o700 });
    }
  }

  async up(
    stackName: string,
    program: PulumiFn,
    options: { onOutput?: (line: string) => void; signal?: AbortSignal },
  ): Promise<Record<string, unknown>> {
    const { LocalWorkspace } = await this.automation();
    await this.workspaceDir();
    const stack = await LocalWorkspace.createOrSelectStack(
      { stackName, projectName: this.settings.projectName, program },
      { envVars: this.envVars() },
    );
    // Inline programs do not declare their plugins; install the one the SDK matches
    // (a no-op once it is there) so the engine does not guess a version.
    await stack.workspace.installPlugin("gcp", `v${gcpPluginVersion()}`);
    const result = await stack.up({
      onOutput: options.onOutput,
      signal: options.signal,
      color: "never",
    });
    return Object.fromEntries(
      Object.entries(result.outputs).map(([k, v]) => [k, (v as { value: unknown }).value]),
    );
  }

  private async select(stackName: string) {
    const { LocalWorkspace } = await this.automation();
    return LocalWorkspace.selectStack(
      { stackName, projectName: this.settings.projectName, program: async () => ({}) },
      { envVars: this.envVars() },
    );
  }

  async destroy(
    stackName: string,
    options: { onOutput?: (line: string) => void },
  ): Promise<boolean> {
    let stack;
    try {
      stack = await this.select(stackName);
    } catch (err) {
      if (isMissingStackError(err)) return false;
      throw err;
    }
    await stack.destroy({ onOutput: options.onOutput, color: "never" });
    return true;
  }

  async removeStack(stackName: string): Promise<void> {
    try {
      const stack = await this.select(stackName);
      await stack.workspace.removeStack(stackName);
    } catch (err) {
      if (isMissingStackError(err)) return;
      throw err;
    }
  }

  async listStacks(): Promise<string[]> {
    const { LocalWorkspace } = await this.automation();
    await this.workspaceDir();
    const ws = await LocalWorkspace.create({
      projectSettings: { name: this.settings.projectName, runtime: "nodejs" },
      envVars: this.envVars(),
    });
    const stacks = await ws.listStacks();
    return stacks.map((s: { name: string }) => s.name.split("/").pop()!);
  }
}
