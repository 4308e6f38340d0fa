import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { z } from "zod";
import { generateKeyPair } from "./crypto";
import {
  apiErrorBodySchema,
  approvalPayloadSchema,
  auditEntrySchema,
  approveTunnelRequestSchema,
  createEngineerRequestSchema,
  createTunnelRequestSchema,
  createTunnelResponseSchema,
  descriptionSchema,
  deviceTunnelViewSchema,
  endpointHostSchema,
  hasControlCharacters,
  parseWire,
  reportConnectedRequestSchema,
  stateSchema,
  stopTunnelRequestSchema,
  tunnelNetworkSchema,
  tunnelViewSchema,
  ValidationError,
  waitSecondsSchema,
} from "./schemas";

const key = generateKeyPair().publicKey;
const tunnelId = randomUUID();

interface RequestCase {
  name: string;
  schema: z.ZodTypeAny;
  valid: Record<string, unknown>;
  optional: string[];
  bad: Record<string, unknown[]>;
}

const requests: RequestCase[] = [
  {
    name: "create tunnel (POST /v1/device/tunnels)",
    schema: createTunnelRequestSchema,
    valid: {
      deviceWgPublicKey: key,
      network: "10.21.7.0/30",
      hostname: "printer-1.local",
      description: "Drucker im 2. Stock ☕ — jammed",
      ttlSeconds: 3600,
      ticket: "ABC-123",
      notBefore: "2026-11-24T14:00:00+01:00",
      allowedEngineers: ["alice", "bob.smith"],
    },
    optional: ["hostname", "description", "ttlSeconds", "ticket", "notBefore", "allowedEngineers"],
    bad: {
      deviceWgPublicKey: ["", "abc", key.slice(1), `${key} `, 42, null],
      network: [
        "8.8.8.0/30",
        "100.64.0.0/30",
        "172.32.0.0/30",
        "192.169.0.0/30",
        "10.0.0.0/24",
        "10.0.0.0/27",
        "10.0.0.0/31",
        "10.0.0.0/32",
        "10.0.0.1/30",
        "10.0.0.0",
        "10.0.0.0/030",
        "fd00::/64",
        "",
        30,
      ],
      hostname: ["", "-bad", "a b", `${"x".repeat(64)}.com`, "host\nname", "a".repeat(254), 3],
      description: [
        "\u001b[2J",
        "bell\u0007",
        "csi\u009b31m",
        "exe.\u202etxt",
        "isolate\u2066d\u2069",
        "zero\u200bwidth",
        "bom\ufeff",
        "tag\u{e0041}",
        "line\u2028separator",
        "x".repeat(501),
        7,
      ],
      ttlSeconds: [59, 7 * 24 * 3600 + 1, 1.5, "3600", -60],
      ticket: ["", "ABC 123", "a:b", "x,y", "-x", "t\n1", "\u001b[2J", "x".repeat(65), 123, null],
      notBefore: ["14:00", "+2h", "2026-11-24", "", 1_700_000_000, null],
      allowedEngineers: [
        [],
        ["alice", "alice"],
        "alice",
        Array.from({ length: 33 }, (_, i) => `eng${i}`),
        null,
      ],
    },
  },
  {
    name: "report connected (POST /v1/device/tunnel/connected)",
    schema: reportConnectedRequestSchema,
    valid: { supportUser: "support1a2b" },
    optional: [],
    bad: {
      supportUser: [
        "root",
        "support",
        "support1a2",
        "supportXYZW",
        "support1a2b;id",
        "support" + "a".repeat(17),
        1,
      ],
    },
  },
  {
    name: "stop tunnel (DELETE)",
    schema: stopTunnelRequestSchema,
    valid: { reason: "fixed the printer" },
    optional: ["reason"],
    bad: { reason: ["x".repeat(201), "line\nbreak", "\u202edone", "done\u200d", 3, null] },
  },
  {
    name: "approve tunnel (POST /v1/tunnels/:id/server)",
    schema: approveTunnelRequestSchema,
    valid: {
      instanceId: "st-vm-1",
      provider: "gcp",
      publicIp: "203.0.113.7",
      wgPort: 51820,
      wgPublicKey: key,
      approval: Buffer.alloc(300, 1).toString("base64"),
    },
    optional: [],
    bad: {
      instanceId: ["", "-x", "a b", "x".repeat(129), "id\n", 5],
      provider: ["aws", "GCP", "", null],
      publicIp: ["1.2.3", "256.1.1.1", "01.2.3.4", "vm.example.com", "1.2.3.4 ", 1234],
      wgPort: [0, 65536, 1.5, "51820", -1],
      wgPublicKey: ["x", key.slice(0, 43), 1],
      approval: ["not base64!", "A".repeat(4097), "", "AAAA\n", 7],
    },
  },
  {
    name: "create engineer (POST /v1/engineers)",
    schema: createEngineerRequestSchema,
    valid: { name: "alice", role: "operator" },
    optional: [],
    bad: {
      name: ["a", "Alice", "1abc", "a".repeat(33), "al ice", "", 1],
      role: ["root", "", "Admin", 2],
    },
  },
  {
    name: "approval payload (inside the sealed approval)",
    schema: approvalPayloadSchema,
    valid: {
      tunnelId,
      serverWgPublicKey: key,
      endpoint: "203.0.113.7",
      wgPort: 51820,
      sshPublicKey: `ssh-ed25519 ${Buffer.alloc(51, 7).toString("base64")} support@server`,
      expiresAt: "2026-11-24T08:00:00.000Z",
      engineer: "alice",
      ticket: "ABC-123",
    },
    optional: ["ticket"],
    bad: {
      tunnelId: ["not-a-uuid", tunnelId.toUpperCase(), "", 1],
      serverWgPublicKey: ["x", ""],
      endpoint: ["bad host", "host\nPostUp = id", "", "-x.com", "x:51820", 1],
      wgPort: [0, 70000, "51820"],
      sshPublicKey: [
        "ssh-dss AAAA",
        "ssh-ed25519",
        "ssh-ed25519 AAAA comment with spaces",
        "ssh-ed25519 AAAA\nssh-ed25519 BBBB",
        `ssh-ed25519 ${"A".repeat(1020)}`,
      ],
      expiresAt: ["tomorrow", "2026-11-24", "", 5],
      engineer: ["", "Alice", "alice\nbob", "a", null, 1],
      ticket: ["", "ABC 123", "a:b", null, 1],
    },
  },
];

function assertRefusedNaming(schema: z.ZodTypeAny, body: unknown, field: string): ValidationError {
  let caught: unknown;
  try {
    parseWire(schema, body);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ValidationError, `expected a ValidationError for ${field}`);
  assert.equal(caught.field, field);
  assert.ok(caught.message.startsWith(`${field}: `), caught.message);
  return caught;
}

describe("wire schemas", () => {
  for (const c of requests) {
    describe(c.name, () => {
      it("accepts a well-formed body, with and without its optional fields", () => {
        assert.deepEqual(parseWire(c.schema, c.valid), c.valid);
        const bare = Object.fromEntries(
          Object.entries(c.valid).filter(([field]) => !c.optional.includes(field)),
        );
        assert.deepEqual(parseWire(c.schema, bare), bare);
      });

      it("refuses a bad value of each field with an error naming that field", () => {
        for (const [field, values] of Object.entries(c.bad)) {
          for (const value of values) {
            assertRefusedNaming(c.schema, { ...c.valid, [field]: value }, field);
          }
        }
        assert.deepEqual(Object.keys(c.bad).sort(), Object.keys(c.valid).sort());
      });

      it("names each missing required field as required", () => {
        for (const field of Object.keys(c.valid).filter((f) => !c.optional.includes(f))) {
          const { [field]: _dropped, ...rest } = c.valid;
          const err = assertRefusedNaming(c.schema, rest, field);
          assert.match(err.message, /is required/);
        }
      });

      it("refuses an unknown field and names it", () => {
        const err = assertRefusedNaming(c.schema, { ...c.valid, isAdmin: true }, "isAdmin");
        assert.equal(err.message, "isAdmin: is not an allowed field");
      });

      it("refuses a body that is not an object", () => {
        for (const body of [null, "x", 1, []]) assertRefusedNaming(c.schema, body, "body");
      });
    });
  }

  it("lists every bad field in one error", () => {
    let caught: unknown;
    try {
      parseWire(createTunnelRequestSchema, { network: "8.8.8.0/30", hostname: "a b", x: 1 });
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ValidationError);
    assert.deepEqual(caught.issues.map((i) => i.field).sort(), [
      "deviceWgPublicKey",
      "hostname",
      "network",
      "x",
    ]);
    for (const field of ["deviceWgPublicKey", "hostname", "network", "x"]) {
      assert.ok(caught.message.includes(`${field}: `), caught.message);
    }
  });

  it("names the thing being parsed when it is not an object", () => {
    assertRefusedNaming(tunnelViewSchema, "oops", "body");
    assert.throws(
      () => parseWire(tunnelViewSchema, "oops", "response"),
      (err: unknown) => err instanceof ValidationError && err.field === "response",
    );
  });

  it("names the bad engineer in the customer's list by its place", () => {
    const valid = { deviceWgPublicKey: key, network: "10.0.0.0/30" };
    for (const name of ["Alice", "al ice", "root\n", "", 7]) {
      const err = assertRefusedNaming(
        createTunnelRequestSchema,
        { ...valid, allowedEngineers: ["alice", name] },
        "allowedEngineers.1",
      );
      assert.match(err.message, /must be 2 to 32 lowercase letters|must be a string/);
    }
  });

  it("says which private subnets a tunnel network may be", () => {
    const err = assertRefusedNaming(
      createTunnelRequestSchema,
      { deviceWgPublicKey: key, network: "8.8.8.0/30" },
      "network",
    );
    assert.match(err.message, /private IPv4 subnet of \/30 to \/28/);
    for (const ok of ["10.0.0.0/28", "172.31.255.252/30", "192.168.1.16/29"]) {
      assert.equal(parseWire(tunnelNetworkSchema, ok), ok);
    }
  });

  it("reads the long-poll wait from a query string, 0 to 30 whole seconds", () => {
    assert.equal(parseWire(waitSecondsSchema, "25"), 25);
    assert.equal(parseWire(waitSecondsSchema, "0"), 0);
    for (const bad of ["31", "-1", "1.5", "soon"]) {
      assert.throws(() => parseWire(waitSecondsSchema, bad, "wait"), /^ValidationError: wait: /);
    }
  });

  it("accepts state names and nothing else as a state", () => {
    assert.equal(parseWire(stateSchema, "running"), "running");
    assert.throws(
      () => parseWire(stateSchema, "Running", "since"),
      /since: must be one of pending/,
    );
  });

  it("accepts IPv4 addresses and DNS names as an endpoint", () => {
    for (const ok of ["203.0.113.7", "vpn.example.com", "localhost"]) {
      assert.equal(parseWire(endpointHostSchema, ok), ok);
    }
    assert.throws(
      () => parseWire(endpointHostSchema, "a b", "endpoint"),
      /endpoint: must be an IPv4 address or a hostname/,
    );
  });

  it("refuses stored text with a control, bidi or invisible character, naming its class and code point", () => {
    for (const [text, message] of [
      ["title\u001b]0;x\u0007", "must not contain control characters (found U+001B)"],
      ["exe.\u202etxt", "must not contain bidi controls (found U+202E)"],
      ["a\u2066b", "must not contain bidi controls (found U+2066)"],
      ["zero\u200bwidth", "must not contain invisible characters (found U+200B)"],
      ["tag\u{e0041}", "must not contain invisible characters (found U+E0041)"],
    ] as const) {
      assert.throws(
        () => parseWire(descriptionSchema, text, "description"),
        (err: ValidationError) =>
          err.field === "description" && err.message === `description: ${message}`,
        JSON.stringify(text),
      );
    }
    assert.equal(parseWire(descriptionSchema, "Drucker ☕ — jammed 🎉"), "Drucker ☕ — jammed 🎉");
  });

  it("sees C0 and C1 control characters but not ordinary text", () => {
    assert.equal(hasControlCharacters("plain text, ümlauts and emoji 🎉"), false);
    for (const s of ["\u0000", "a\tb", "\u001b", "\u007f", "\u0085", "\u009f"]) {
      assert.ok(hasControlCharacters(s), JSON.stringify(s));
    }
    assert.equal(parseWire(descriptionSchema, "ok"), "ok");
  });

  describe("responses", () => {
    const server = {
      wgPublicKey: key,
      publicIp: "203.0.113.7",
      wgPort: 51820,
      approval: "AAAA",
    };
    const deviceView = {
      tunnelId,
      state: "started",
      network: "10.1.2.0/30",
      createdAt: "2026-11-24T05:00:00Z",
      expiresAt: "2026-11-24T06:00:00+01:00",
      server,
      stoppedBy: null,
      stopReason: null,
      ticket: "ABC-123",
      notBefore: "2026-11-24T05:30:00Z",
      allowedEngineers: ["alice"],
      allowedPorts: [80, 443],
    };

    it("passes a device view's approval on as it is, even one that is not base64", () => {
      const odd = { ...deviceView, server: { ...server, approval: "not base64!" } };
      assert.deepEqual(parseWire(deviceTunnelViewSchema, odd), odd);
      assertRefusedNaming(
        deviceTunnelViewSchema,
        { ...deviceView, server: { ...server, approval: 7 } },
        "server.approval",
      );
    });

    it("reads a device's view of its tunnel, and names a bad nested field", () => {
      assert.deepEqual(parseWire(deviceTunnelViewSchema, deviceView), deviceView);
      assertRefusedNaming(
        deviceTunnelViewSchema,
        { ...deviceView, server: { ...server, wgPort: 0 } },
        "server.wgPort",
      );
      assertRefusedNaming(deviceTunnelViewSchema, { ...deviceView, state: "gone" }, "state");
    });

    it("reads the view of an api that stores no choices as none chosen", () => {
      const {
        ticket: _t,
        notBefore: _n,
        allowedEngineers: _a,
        allowedPorts: _p,
        ...older
      } = deviceView;
      assert.deepEqual(parseWire(deviceTunnelViewSchema, older), {
        ...older,
        ticket: null,
        notBefore: null,
        allowedEngineers: null,
        allowedPorts: [],
      });
    });

    it("refuses allowed ports outside 1-65535, SSH's 22, or one named twice", () => {
      const cases: [number[], string][] = [
        [[0], "allowedPorts.0"],
        [[80, 65536], "allowedPorts.1"],
        [[22], "allowedPorts.0"],
        [[8.5], "allowedPorts.0"],
        [[80, 80], "allowedPorts"],
      ];
      for (const [ports, field] of cases)
        assertRefusedNaming(deviceTunnelViewSchema, { ...deviceView, allowedPorts: ports }, field);
    });

    it("refuses an api's view whose choices could drive a terminal", () => {
      assertRefusedNaming(
        deviceTunnelViewSchema,
        { ...deviceView, ticket: "A\u001b[2J" },
        "ticket",
      );
      assertRefusedNaming(
        deviceTunnelViewSchema,
        { ...deviceView, allowedEngineers: ["alice\u001b]0;x\u0007"] },
        "allowedEngineers.0",
      );
    });

    it("makes every free-text field of an answer safe to print as it parses it", () => {
      const hostile = "\u001b]0;pwned\u0007\u202e\u200b";
      const shown = "\\x1b]0;pwned\\x07\\u202e\\u200b";
      const device = parseWire(deviceTunnelViewSchema, { ...deviceView, stopReason: hostile });
      assert.equal(device.stopReason, shown);
      const view = parseWire(tunnelViewSchema, {
        ...deviceView,
        server: null,
        hostname: hostile,
        description: hostile,
        deviceWgPublicKey: key,
        updatedAt: deviceView.createdAt,
        supportUser: null,
        approvedBy: hostile,
        stoppedBy: "engineer",
        stopReason: hostile,
        endedAt: null,
      });
      assert.deepEqual(
        [view.hostname, view.description, view.approvedBy, view.stopReason],
        [shown, shown, shown, shown],
      );
      const audit = parseWire(auditEntrySchema, {
        id: hostile,
        tunnelId,
        actor: hostile,
        action: hostile,
        detail: hostile,
        clientAddress: hostile,
        at: deviceView.createdAt,
      });
      assert.deepEqual(
        [audit.id, audit.actor, audit.action, audit.detail, audit.clientAddress],
        [shown, shown, shown, shown, shown],
      );
      const error = parseWire(apiErrorBodySchema, {
        statusCode: 400,
        message: hostile,
        field: hostile,
      });
      assert.deepEqual([error.message, error.field], [shown, shown]);
    });

    it("tolerates fields it does not know in an answer, so the api can grow", () => {
      const answer = { tunnelId, token: `std_${"a".repeat(43)}`, expiresAt: deviceView.expiresAt };
      assert.deepEqual(parseWire(createTunnelResponseSchema, { ...answer, extra: 1 }), answer);
      assertRefusedNaming(createTunnelResponseSchema, { ...answer, token: "ste_x" }, "token");
    });
  });
});
