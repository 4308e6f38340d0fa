import * as assert from "node:assert/strict";
import { parseJournal, sessionsOf, type JournalEvent } from "./journal";
import { formatDuration, renderSessions, renderTimeline } from "./timeline";

const tunnelId = "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21";
const user = "support7a3f0c12";
const utc = { timeZone: "UTC" };

function ev(at: string, event: Record<string, unknown>): JournalEvent {
  return { v: 1, at: `2030-01-01T${at}Z`, tunnelId, ...event } as JournalEvent;
}

/** A whole support case: a command, a shell, a command still running when the customer stopped it. */
const journal: JournalEvent[] = [
  ev("10:00:00", {
    type: "requested",
    supportUser: user,
    description: "printer queue is stuck",
    hostname: "kiosk-7",
    grantedUntil: "2030-01-01T12:00:00Z",
  }),
  ev("10:01:12", {
    type: "approved",
    expiresAt: "2030-01-01T12:00:00Z",
    endpoint: "203.0.113.7:51820",
  }),
  ev("10:01:13", {
    type: "connected",
    supportUser: user,
    interface: "std3f6c0b9e6d2a",
    address: "10.99.0.1",
  }),
  ev("10:02:00", {
    type: "session-opened",
    session: "a1b2c3d4e5f6",
    supportUser: user,
    command: "sudo -n -- systemctl restart cups",
    pty: false,
    from: "10.99.0.2",
  }),
  ev("10:02:00.4", {
    type: "session-closed",
    session: "a1b2c3d4e5f6",
    exitCode: 0,
    signal: null,
    durationMs: 400,
    iolog: "00/00/01",
  }),
  ev("10:03:00", {
    type: "session-opened",
    session: "0badc0ffee00",
    supportUser: user,
    command: "'sudo' '-i'",
    pty: true,
    from: "10.99.0.2",
  }),
  ev("10:15:00", {
    type: "session-closed",
    session: "0badc0ffee00",
    exitCode: 0,
    signal: null,
    durationMs: 720_000,
    iolog: "00/00/02",
  }),
  ev("10:16:00", {
    type: "session-opened",
    session: "5e55105e5510",
    supportUser: user,
    command: "sudo -n -- sleep 600",
    pty: false,
    from: "10.99.0.2",
  }),
  ev("10:20:00", { type: "stopped", by: "customer", reason: null }),
];

describe("the customer's timeline", () => {
  it("tells what happened, one line per event, each session with its command, exit and time", () => {
    assert.equal(
      renderTimeline(tunnelId, journal, utc),
      [
        `tunnel ${tunnelId}`,
        '  2030-01-01 10:00:00  requested by the customer: "printer queue is stuck" (until 2030-01-01 12:00:00)',
        "  2030-01-01 10:01:12  approved, until 2030-01-01 12:00:00 (tunnel server 203.0.113.7:51820)",
        "  2030-01-01 10:01:13  connected: support may log in as support7a3f0c12",
        "  2030-01-01 10:02:00  support7a3f0c12 ran: systemctl restart cups (exit 0, 0.4 s)  [a1b2c3d4e5f6]",
        "  2030-01-01 10:03:00  support7a3f0c12 opened a shell 10:03–10:15 (12 min, exit 0)  [0badc0ffee00]",
        "  2030-01-01 10:16:00  support7a3f0c12 ran: sleep 600 (its end was not recorded)  [5e55105e5510]",
        "  2030-01-01 10:20:00  stopped by the customer",
      ].join("\n"),
    );
  });

  it("says when support withdrew an approval, and whose it was", () => {
    const withdrawn = [
      journal[0]!,
      ev("10:01:12", {
        type: "approved",
        expiresAt: "2030-01-01T12:00:00Z",
        endpoint: "203.0.113.7:51820",
        engineer: "alice",
      }),
      ev("10:03:30", { type: "withdrawn", engineer: "alice" }),
      ev("10:04:00", { type: "withdrawn", engineer: null }),
    ];
    const lines = renderTimeline(tunnelId, withdrawn, utc).split("\n");
    assert.equal(
      lines[3],
      "  2030-01-01 10:03:30  approval withdrawn (by alice): support took it back, what was set up for it is removed, and the tunnel waits for a new approval",
    );
    assert.match(lines[4]!, /10:04:00 {2}approval withdrawn: support took it back/);
    assert.equal(parseJournal(withdrawn.map((e) => JSON.stringify(e)).join("\n")).unreadable, 0);
  });

  it("names the engineer and the ticket when the approval did, and the customer's choices", () => {
    const named = [
      ev("10:00:00", {
        type: "requested",
        supportUser: user,
        description: null,
        hostname: null,
        grantedUntil: "2030-01-01T12:00:00Z",
        ticket: "ABC-123",
        engineers: ["alice", "bob"],
      }),
      ev("10:01:00", {
        type: "approved",
        expiresAt: "2030-01-01T12:00:00Z",
        endpoint: "203.0.113.7:51820",
        engineer: "alice",
        ticket: "ABC-123",
      }),
      ev("10:02:00", {
        type: "session-opened",
        session: "a1b2c3d4e5f6",
        supportUser: user,
        engineer: "alice",
        command: "sudo -n -- id",
        pty: false,
        from: null,
      }),
      ev("10:02:01", { type: "stopped", by: "engineer", reason: "done" }),
    ];
    const lines = renderTimeline(tunnelId, named, utc).split("\n");
    assert.equal(
      lines[1],
      "  2030-01-01 10:00:00  requested by the customer (ticket ABC-123, only for alice, bob, until 2030-01-01 12:00:00)",
    );
    assert.match(lines[2]!, /approved by alice for ticket ABC-123, until/);
    assert.match(lines[3]!, /alice ran: id \(its end was not recorded\)/);
    assert.equal(lines[4], '  2030-01-01 10:02:01  stopped by support: "done"');
  });

  it("shows a session that is still running as such", () => {
    const open = journal.slice(0, 6);
    assert.match(
      renderTimeline(tunnelId, open, utc),
      /support7a3f0c12 has a shell open since 10:03/,
    );
  });

  it("names a forward with its port and times, and a collection with its size", () => {
    const opened = (at: string, session: string, command: string) =>
      ev(at, {
        type: "session-opened",
        session,
        supportUser: user,
        engineer: "alice",
        command,
        pty: false,
        from: "10.99.0.2",
      });
    const closed = (at: string, session: string, extra: Record<string, unknown>) =>
      ev(at, {
        type: "session-closed",
        session,
        exitCode: 0,
        signal: null,
        durationMs: 1000,
        iolog: null,
        ...extra,
      });
    const text = renderTimeline(
      tunnelId,
      [
        journal[0]!,
        opened("10:03:00", "aaaaaaaaaaaa", "'env' 'SUPPORT_TUNNEL_FORWARD=80' 'cat'"),
        closed("10:15:00", "aaaaaaaaaaaa", { durationMs: 720_000 }),
        opened(
          "10:16:00",
          "bbbbbbbbbbbb",
          "'sudo' '-n' '--' 'env' 'SUPPORT_TUNNEL_COLLECT=1' 'bash' '-s'",
        ),
        closed("10:16:05", "bbbbbbbbbbbb", { outputBytes: 1_234_567 }),
        opened("10:20:00", "cccccccccccc", "'env' 'SUPPORT_TUNNEL_FORWARD=443' 'cat'"),
      ],
      utc,
    );
    assert.match(text, /alice forwarded port 80 10:03–10:15 \(12 min\) {2}\[aaaaaaaaaaaa\]/);
    assert.match(text, /alice collected diagnostics \(1\.2 MB\) {2}\[bbbbbbbbbbbb\]/);
    assert.match(text, /alice is forwarding port 443 since 10:20/);
  });

  it("says when the time ran out, and when the api ended it without saying who", () => {
    const expired = renderTimeline(
      tunnelId,
      [ev("12:00:00", { type: "stopped", by: "expiry", reason: null })],
      utc,
    );
    assert.match(expired, /expired: the time granted ran out/);
    const api = renderTimeline(
      tunnelId,
      [ev("12:00:00", { type: "stopped", by: "api", reason: "x" })],
      utc,
    );
    assert.match(api, /ended by the api: "x"/);
  });

  it("cannot be made to drive the customer's terminal by what an engineer typed or the api said", () => {
    const hostile = [
      ev("10:02:00", {
        type: "session-opened",
        session: "a1b2c3d4e5f6",
        supportUser: user,
        engineer: "eve\u001b]0;owned\u0007",
        command: "echo '\u001b[2J\u001b[Hall good'",
        pty: false,
        from: null,
      }),
      ev("10:03:00", { type: "stopped", by: "engineer", reason: "\u001b[31mred\nnew line" }),
    ];
    const text = renderTimeline(tunnelId, hostile, utc);
    const controls = [...text].filter((c) => c !== "\n" && (c < " " || c === "\u007f"));
    assert.deepEqual(controls, [], JSON.stringify(text));
    assert.match(text, /eve\?\]0;owned\? ran: echo/);
    const table = renderSessions(sessionsOf(hostile), utc);
    assert.ok(!text.includes("\u001b") && !table.includes("\u001b"));
  });
});

describe("the sessions table", () => {
  it("lists id, tunnel, who, start, end, exit and command", () => {
    assert.equal(
      renderSessions(sessionsOf(journal), utc),
      [
        "SESSION       TUNNEL    WHO              START                END    EXIT  COMMAND",
        "a1b2c3d4e5f6  3f6c0b9e  support7a3f0c12  2030-01-01 10:02:00  10:02  0     systemctl restart cups",
        "0badc0ffee00  3f6c0b9e  support7a3f0c12  2030-01-01 10:03:00  10:15  0     (shell)",
        "5e55105e5510  3f6c0b9e  support7a3f0c12  2030-01-01 10:16:00  -      -     sleep 600",
      ].join("\n"),
    );
  });
});

describe("the journal file", () => {
  it("reads the events in time order, skipping a line torn by a crash", () => {
    const lines = journal.map((e) => JSON.stringify(e));
    const text = [lines[1], lines[0], '{"v":1,"at":"2030-01-01T10:', ...lines.slice(2), ""].join(
      "\n",
    );
    const sut = parseJournal(text);
    assert.equal(sut.unreadable, 1);
    assert.deepEqual(
      sut.events.map((e) => e.type),
      journal.map((e) => e.type),
    );
  });

  it("keeps fields a later release adds", () => {
    const sut = parseJournal(JSON.stringify({ ...journal[2], engineerEmail: "a@example.com" }));
    assert.equal(
      (sut.events[0] as unknown as { engineerEmail: string }).engineerEmail,
      "a@example.com",
    );
  });
});

describe("formatDuration", () => {
  it("reads like a person would say it", () => {
    assert.deepEqual([400, 12_000, 200_000, 720_000, 4_320_000].map(formatDuration), [
      "0.4 s",
      "12 s",
      "3 min 20 s",
      "12 min",
      "1 h 12 min",
    ]);
  });
});

describe("the timeline of file transfers", () => {
  it("says which files support copied to and fetched from the device, and how big", () => {
    const events: JournalEvent[] = [
      ev("10:05:00", {
        type: "session-opened",
        session: "0badc0ffee01",
        supportUser: user,
        engineer: "alice",
        command: "internal-sftp",
        pty: false,
        from: "10.99.0.2",
      }),
      ev("10:05:01", {
        type: "file-transfer",
        session: "0badc0ffee01",
        tool: "sftp",
        direction: "upload",
        path: "/tmp/fix.sh",
        bytes: 3100,
      }),
      ev("10:05:01.5", {
        type: "file-transfer",
        session: "0badc0ffee01",
        tool: "sftp",
        direction: "download",
        path: "/var/log/syslog\u001b[2J",
        bytes: 1_200_000,
      }),
      ev("10:05:02", {
        type: "session-closed",
        session: "0badc0ffee01",
        exitCode: 0,
        signal: null,
        durationMs: 2000,
        iolog: null,
      }),
    ];
    const text = renderTimeline(
      tunnelId,
      parseJournal(events.map((e) => JSON.stringify(e)).join("\n")).events,
      utc,
    );
    assert.match(
      text,
      /10:05:00 {2}alice transferred files with sftp \(exit 0, 2\.0 s\) {2}\[0badc0ffee01\]/,
    );
    assert.match(text, /10:05:01 {2}alice copied fix\.sh to \/tmp\/ \(3\.1 kB\)/);
    assert.match(text, /alice fetched \/var\/log\/syslog.*\(1\.2 MB\)/);
    assert.ok(!text.includes("\u001b"), "a file name cannot drive the customer's terminal");
  });
});
