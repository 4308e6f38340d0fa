// `support-api engineer add|revoke`: manage engineers directly on the database,
// for the first admin and for recovery. Audited with the actor `cli`.
import type { CreateEngineerResponse } from "@support-tunnel/common";
import { createEngineerRequestSchema, engineerNameSchema, parseWire } from "@support-tunnel/common";
import { loadConfig, type ConfigOverrides, type Env } from "../config";
import { openDatabase } from "../database/database";
import { AuditRepository } from "../repositories/audit.repository";
import { EngineerRepository } from "../repositories/engineer.repository";
import { systemClock } from "../services/clock";
import { EngineerService } from "../services/engineer.service";

async function withEngineers<T>(
  options: ConfigOverrides,
  env: Env | undefined,
  fn: (service: EngineerService) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env, options);
  const dataSource = await openDatabase(config, { migrate: true });
  try {
    const repo = new EngineerRepository(dataSource, new AuditRepository(dataSource));
    return await fn(new EngineerService(repo, systemClock));
  } finally {
    await dataSource.destroy();
  }
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
