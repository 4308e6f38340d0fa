// `support whoami`: who the api thinks the stored token belongs to.
import type { Whoami } from "@support-tunnel/common";
import type { Context } from "../context";

export interface WhoamiOptions {
  ctx: Context;
}

export async function whoami({ ctx }: WhoamiOptions): Promise<Whoami> {
  const me = await ctx.api().whoami();
  ctx.printer.data(
    { ...me, api: ctx.config.apiUrl },
    () => `${me.name} (${me.role}) at ${ctx.config.apiUrl}`,
  );
  return me;
}
