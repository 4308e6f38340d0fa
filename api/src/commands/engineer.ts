// `support-api engineer add|revoke`: manage engineers directly on the database,
// for the first admin and for recovery. Audited with the actor `cli`.
import type { CreateEngineerResponse } from "@support-tunnel/common";
import { createEngineerRequestSchema, engineerNameSchema, parseWire } from "@support-tunnel/common";
import { loadConfig, type ConfigOverrides, type Env } from "../config";
import { EngineerService } from "../services/engineer.service";
import { withDatabase } from "./database-context";

function withEngineers<T>(
  options: ConfigOverrides,
  env: Env | undefined,
  fn: (service: EngineerService) => Promise<T>,
): Promise<T> {
  return withDatabase(loadConfig(env, options), { migrate: true }, (app) =>
    fn(app.get(EngineerService)),
  );
}

export function engineerAdd(
  name: string,
  role: string,
  options: ConfigOverrides,
  env?: Env,
): Promise<CreateEngineerResponse> {
  const body = parseWire(createEngineerRequestSchema, { name, role });
  return withEngineers(options, env, (s) =>
    s.create({ name: body.name, role: body.role }, { actor: "cli", clientAddress: null }),
  );
}

export function engineerRevoke(name: string, options: ConfigOverrides, env?: Env): Promise<void> {
  const valid = parseWire(engineerNameSchema, name, "name");
  return withEngineers(options, env, (s) => s.revoke(valid, { actor: "cli", clientAddress: null }));
}
