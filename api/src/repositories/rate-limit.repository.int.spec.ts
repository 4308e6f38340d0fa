import assert from "node:assert/strict";
import type { INestApplicationContext } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { DatabaseModule } from "../database/database.module";
import { useTestDatabase } from "../testing/test-api";
import { RateLimitRepository } from "./rate-limit.repository";

describe("rate-limit counters (PostgreSQL)", function () {
  this.timeout(60_000);
  const pg = useTestDatabase();
  const replicas: INestApplicationContext[] = [];
  let sut: RateLimitRepository;
  let other: RateLimitRepository;

  before(async () => {
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await NestFactory.createApplicationContext(
          DatabaseModule.forRoot({ databaseUrl: pg.db.url, dataDir: "" }, { migrate: true }),
          { logger: false, abortOnError: false },
        ),
      );
    }
    [sut, other] = replicas.map((r) => r.get(RateLimitRepository)) as [
      RateLimitRepository,
      RateLimitRepository,
    ];
  });

  after(async () => {
    for (const replica of replicas) await replica.close();
  });

  const t0 = new Date("2030-01-01T00:00:00Z");
  const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
  // a window of 60 s, at most 2 hits (unless told), 30 s blocked after that
  const hit = (repo: RateLimitRepository, key: string, seconds: number, limit = 2) =>
    repo.hit(key, at(seconds), 60_000, limit, 30_000);

  it("counts the hits of a window, blocks past the limit, and refuses without counting until the block ends", async () => {
    const hits = [];
    for (const seconds of [0, 1, 2, 3, 32, 33]) hits.push(await hit(sut, "a", seconds));
    assert.deepEqual(
      hits.map((h) => [h.hits, h.blockedUntil?.toISOString() ?? null]),
      [
        [1, null],
        [2, null],
        [3, at(32).toISOString()],
        [3, at(32).toISOString()],
        [4, at(62).toISOString()],
        [4, at(62).toISOString()],
      ],
    );
  });

  it("starts a new window once the last one has ended", async () => {
    await hit(sut, "b", 0);
    await hit(sut, "b", 1);
    const next = await hit(sut, "b", 60);
    assert.deepEqual([next.hits, next.blockedUntil, next.windowEndsAt], [1, null, at(120)]);
  });

  it("keeps keys apart, and shares one key's count between replicas, concurrent hits included", async () => {
    const results = await Promise.all(
      [sut, other, sut, other].map((repo, i) => hit(repo, "c", i * 0.001, 10)),
    );
    assert.deepEqual(results.map((r) => r.hits).sort(), [1, 2, 3, 4]);
    assert.equal((await hit(other, "d", 0)).hits, 1);
  });

  it("counts every hit while a replica forgets the stale counter at the same moment", async () => {
    // The first request after a window ends forgets stale counters while the
    // other requests of that moment count their hits on the same row: no hit
    // may fail (it was a 500 for the device asking for a tunnel), none is lost.
    for (let round = 1; round <= 20; round++) {
      const seconds = round * 61; // the previous round's window has ended
      const results = await Promise.all([
        sut.deleteStale(at(seconds)),
        ...[sut, other, sut, other, sut, other].map((repo) => hit(repo, "h", seconds, 100)),
      ]);
      assert.deepEqual(
        results
          .slice(1)
          .map((r) => (r as { hits: number }).hits)
          .sort(),
        [1, 2, 3, 4, 5, 6],
        `round ${round}`,
      );
    }
  });

  it("forgets counters whose window and block are over, and only those", async () => {
    await hit(sut, "e", 0);
    for (const seconds of [0, 1, 2]) await hit(sut, "f", seconds); // blocked until 32 s
    await hit(sut, "g", 50);
    await sut.deleteStale(at(61));
    assert.equal((await hit(sut, "e", 61)).hits, 1, "e was forgotten: a fresh window");
    assert.equal((await hit(sut, "g", 61)).hits, 2, "g's window was still open");
  });
});
