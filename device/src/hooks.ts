// Hook templating: each argv element gets the tunnel's values substituted, never
// joined into a shell string, so a value can't become a second command.
import type { HookName } from "./config";

export interface HookVariables {
  id: string;
  interface: string;
  address: string;
  subnet: string;
  user: string;
}

export function renderHook(argv: readonly string[], vars: HookVariables): string[] {
  return argv.map((arg) =>
    arg.replace(
      /\{(id|interface|address|subnet|user)\}/g,
      (_, key: keyof HookVariables) => vars[key],
    ),
  );
}

export const HOOK_LABELS: Record<HookName, string> = {
  preUp: "pre-up",
  postUp: "post-up",
  preDown: "pre-down",
  postDown: "post-down",
};
