// The Dockerfile and docker-compose.yml against the rest of the repository: what
// no linter can know. No Docker engine runs where the tests do, and Debian 12 has
// no hadolint, so what the files say on their own is left to review.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(__dirname, "..", "..");

interface Instruction {
  keyword: string;
  args: string;
}

/** The build stage's instructions: comments and continuations resolved, up to the second FROM. */
function buildStage(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#") || (!pending && line === "")) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === "FROM") stages.push([]);
    else stages.at(-1)?.push({ keyword: upper, args: rest.join(" ") });
  }
  return stages[0] ?? [];
}

/** Sources the build stage copies from the build context (`COPY a b ... dest`). */
function copiedSources(stage: Instruction[]): string[] {
  return stage
    .filter((i) => i.keyword === "COPY" && !i.args.includes("--from"))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
}

/** Folders of the projects a tsconfig references, recursively, itself included. */
function projectFolders(tsconfig: string, seen = new Set<string>()): Set<string> {
  const dir = join(tsconfig, "..");
  if (seen.has(dir)) return seen;
  seen.add(dir);
  const config = JSON.parse(readFileSync(tsconfig, "utf8")) as {
    references?: { path: string }[];
  };
  for (const ref of config.references ?? []) {
    const target = join(dir, ref.path);
    projectFolders(target.endsWith(".json") ? target : join(target, "tsconfig.json"), seen);
  }
  return seen;
}

describe("api container image (Dockerfile)", () => {
  const build = buildStage(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const copied = copiedSources(build);

  it("copies the manifest of every workspace, so npm ci accepts the lockfile", () => {
    const workspaces = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] }
    ).workspaces;
    assert.ok(workspaces.includes("testkit"));
    for (const ws of workspaces)
      assert.ok(copied.includes(`${ws}/package.json`), `${ws}/package.json`);
    for (const source of copied) assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
  });

  it("copies the sources of every project the api's production build references, and no more", () => {
    const compile = build.find((i) => i.keyword === "RUN" && /\btsc\b/.test(i.args));
    const config = /tsc -b (\S+)/.exec(compile?.args ?? "")?.[1];
    assert.equal(config, "api/tsconfig.build.json", "the image builds the production config");
    const folders = [...projectFolders(join(ROOT, config))]
      .map((dir) => dir.slice(ROOT.length + 1))
      .sort();
    assert.deepEqual(folders, ["api", "common"]);
    const sourceFolders = copied.filter((s) => s.endsWith("/")).map((s) => s.slice(0, -1));
    assert.deepEqual(sourceFolders.sort(), folders);
  });
});

describe("api and PostgreSQL together (docker-compose.yml)", () => {
  interface Compose {
    services: {
      api: { environment: Record<string, string> };
      postgres: { environment: Record<string, string> };
    };
  }
  const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as Compose;

  /** Compose's `${VAR:-default}`, resolved to the default as on a machine that sets nothing. */
  const withDefaults = (value: string) =>
    value.replace(
      /\$\{(\w+)(?::?-([^}]*))?\}/g,
      (_, _name: string, fallback?: string) => fallback ?? "",
    );

  it("points the api at the compose database with the database's own credentials", () => {
    const url = new URL(withDefaults(compose.services.api.environment.DATABASE_URL!));
    const env = compose.services.postgres.environment;
    assert.equal(url.protocol, "postgres:");
    assert.equal(url.hostname, "postgres", "the host is the compose service");
    assert.equal(url.port, "5432");
    assert.equal(url.username, withDefaults(env.POSTGRES_USER!));
    assert.equal(url.password, withDefaults(env.POSTGRES_PASSWORD!));
    assert.equal(url.pathname, `/${withDefaults(env.POSTGRES_DB!)}`);
  });
});
