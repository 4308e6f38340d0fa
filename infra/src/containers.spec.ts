// The Dockerfile and docker-compose.yml, read as files: no Docker engine runs where
// the tests do, so this checks what can be checked without one.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(__dirname, "..", "..");

interface Instruction {
  keyword: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | null;
  instructions: Instruction[];
}

/** Just enough of the Dockerfile grammar: comments, continuations, ARG defaults, stages. */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!pending && (line === "" || line.startsWith("#"))) continue;
    if (line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of logical) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const rawArgs = rest.join(" ");
    const upper = keyword.toUpperCase();
    if (upper === "ARG" && stages.length === 0) {
      const [k, v = ""] = rawArgs.split("=");
      args[k!] = v;
      continue;
    }
    if (upper === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rawArgs)!;
      const from = m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? "");
      stages.push({ from, name: m[2] ?? null, instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword: upper, args: rawArgs });
  }
  return { args, stages };
}

/** Compose's `${VAR:-default}`, resolved to the default as on a machine that sets nothing. */
function withDefaults(value: string): string {
  return value.replace(
    /\$\{(\w+)(?::?-([^}]*))?\}/g,
    (_, _name: string, fallback?: string) => fallback ?? "",
  );
}

describe("api container image (Dockerfile)", () => {
  const { stages } = parseDockerfile(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const final = stages.at(-1)!;
  const all = (stage: Stage, keyword: string) =>
    stage.instructions.filter((i) => i.keyword === keyword);

  it("builds in separate stages on Node 20 slim images", () => {
    assert.ok(stages.length >= 2, "multi-stage");
    for (const stage of stages) assert.equal(stage.from, "node:20-bookworm-slim");
    const build = stages.find((s) => s.name === "build")!;
    const runs = all(build, "RUN").map((i) => i.args);
    assert.ok(
      runs.some((r) => /npm ci\b/.test(r)),
      "build installs from the lockfile",
    );
    assert.ok(
      runs.some((r) => /tsc -b api\b/.test(r)),
      "build compiles the api",
    );
  });

  it("ships only build results and production dependencies in the final image", () => {
    const names = stages.map((s) => s.name);
    for (const copy of all(final, "COPY")) {
      const from = /--from=(\S+)/.exec(copy.args)?.[1];
      assert.ok(from, `final stage copies nothing from the build context: COPY ${copy.args}`);
      assert.ok(names.slice(0, -1).includes(from), `${from} is an earlier stage`);
    }
    assert.ok(all(final, "RUN").length === 0, "nothing is installed in the final stage");
    const deps = stages.find((s) => s.name === "deps")!;
    assert.ok(all(deps, "RUN").some((i) => /npm ci .*--omit=dev/.test(i.args)));
  });

  it("runs as a non-root user, exposes 8080, checks /healthz and serves the api", () => {
    const users = all(final, "USER").map((i) => i.args.trim());
    assert.equal(users.length, 1);
    assert.doesNotMatch(users[0]!, /^(root|0)(:|$)/);
    assert.deepEqual(
      all(final, "EXPOSE").map((i) => i.args),
      ["8080"],
    );
    const [health] = all(final, "HEALTHCHECK");
    assert.ok(health, "HEALTHCHECK");
    const probe = JSON.parse(health.args.replace(/^(--\S+\s+)*CMD\s+/, "")) as string[];
    assert.equal(probe[0], "node", "slim has no curl: node probes itself");
    assert.match(probe.join(" "), /\/healthz/);
    const [cmd] = all(final, "CMD");
    assert.deepEqual(JSON.parse(cmd!.args), ["node", "api/dist/bin.js", "serve"]);
  });

  it("copies the manifest of every workspace, so npm ci accepts the lockfile", () => {
    const workspaces: string[] = JSON.parse(
      readFileSync(join(ROOT, "package.json"), "utf8"),
    ).workspaces;
    const copied = stages[0]!.instructions
      .filter((i) => i.keyword === "COPY" && !i.args.includes("--from"))
      .map((i) => i.args.split(/\s+/)[0]!);
    for (const ws of workspaces)
      assert.ok(copied.includes(`${ws}/package.json`), `${ws}/package.json`);
    for (const source of copied) assert.ok(existsSync(join(ROOT, source)), `${source} exists`);
  });

  it("keeps local builds and dependencies out of the build context", () => {
    const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
    assert.ok(ignored.includes("**/node_modules"));
    assert.ok(ignored.includes("**/dist"));
    assert.ok(ignored.includes(".git"));
  });
});

describe("api and PostgreSQL together (docker-compose.yml)", () => {
  const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"));
  const api = compose.services.api;
  const postgres = compose.services.postgres;

  it("runs the api and PostgreSQL 16 with its data on a named volume", () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ["api", "postgres"]);
    assert.match(postgres.image, /^postgres:16/);
    const [volume] = (postgres.volumes as string[]).map((v) => v.split(":")[0]!);
    assert.ok(volume && volume in compose.volumes, "data volume is declared");
    assert.equal(api.build.dockerfile, "Dockerfile");
  });

  it("points the api at the compose database with the database's own credentials", () => {
    const url = new URL(withDefaults(api.environment.DATABASE_URL));
    const env = postgres.environment;
    assert.equal(url.protocol, "postgres:");
    assert.equal(url.hostname, "postgres", "the host is the compose service");
    assert.equal(url.port, "5432");
    assert.equal(url.username, withDefaults(env.POSTGRES_USER));
    assert.equal(url.password, withDefaults(env.POSTGRES_PASSWORD));
    assert.equal(url.pathname, `/${withDefaults(env.POSTGRES_DB)}`);
  });

  it("starts the api only once PostgreSQL answers, and migrates before serving", () => {
    assert.equal(api.depends_on.postgres.condition, "service_healthy");
    assert.match(postgres.healthcheck.test.join(" "), /pg_isready/);
    const command = (api.command as string[]).join(" ");
    assert.match(command, /bin\.js migrate && exec node api\/dist\/bin\.js serve/);
  });

  it("publishes the api's port and checks its health", () => {
    assert.equal(api.environment.PORT, "8080");
    assert.ok((api.ports as string[]).some((p) => p.endsWith(":8080")));
    assert.match((api.healthcheck.test as string[]).join(" "), /\/healthz/);
  });
});
