// `support-device connect <id>`: verify the approval and bring the tunnel up.
import type { CommandContext } from "../context";
import { ApprovalRefusedError } from "../errors";

export interface ConnectOptions {
  id: string;
}

/** Verifies the approval of tunnel `id` and brings it up. */
export async function connect(ctx: CommandContext, options: ConnectOptions): Promise<void> {
  let result;
  try {
    result = await ctx.lifecycle.connect(options.id);
  } catch (err) {
    if (err instanceof ApprovalRefusedError) {
      throw new ApprovalRefusedError(
        `${err.message}\n${nextAfterRefusal(options.id, err)}`,
        err.kind,
        err.supportTold,
      );
    }
    throw err;
  }
  ctx.printer.data(result, () =>
    [
      `tunnel ${result.tunnelId} ${result.alreadyUp ? "was already up" : "is up"}`,
      `support user: ${result.supportUser}`,
      `interface: ${result.interface} (${result.address}, server ${result.serverAddress})`,
      `expires at: ${result.expiresAt}`,
    ].join("\n"),
  );
}

/** What the customer, with no agent to wait for them, does next: the request stays open. */
export function nextAfterRefusal(id: string, err: ApprovalRefusedError): string {
  const told = err.supportTold
    ? "Support has been told and can approve again; your request stays open."
    : "Support could not be told (the api did not answer): tell them; your request stays open.";
  const fix =
    err.kind === "psk"
      ? " Read them the preshared key again, exactly as `support-device request` printed it."
      : "";
  return `${told}${fix} Once they have approved again, run: support-device connect ${id}`;
}
