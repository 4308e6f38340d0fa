import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { CallHandler, ExecutionContext } from "@nestjs/common";
import type { Request, Response } from "express";
import type { PinoLogger } from "nestjs-pino";
import { lastValueFrom, of } from "rxjs";
import { RequestLogInterceptor } from "./logging";
import { captureRequestContext } from "./request-context";

/** A request that arrived from 198.51.100.7, its response, and what the interceptor logged. */
function exchange(method: string) {
  const req = {
    method,
    ip: "198.51.100.7",
    socket: {},
    params: { id: "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21" },
    engineer: { name: "olivia", role: "operator" },
  } as unknown as Request;
  const res = Object.assign(new EventEmitter(), {
    writableFinished: false,
    closed: false,
    locals: {},
  });
  captureRequestContext(req, res as unknown as Response, () => undefined);
  const context = {
    switchToHttp: () => ({ getRequest: () => req, getResponse: () => res }),
  } as unknown as ExecutionContext;
  const warnings: [Record<string, unknown>, string][] = [];
  const logger = {
    setContext: () => undefined,
    warn: (fields: Record<string, unknown>, message: string) => warnings.push([fields, message]),
  } as unknown as PinoLogger;
  return {
    sut: new RequestLogInterceptor(logger),
    context,
    // As node's ServerResponse does: closed, then "close".
    clientLeaves: () => {
      res.closed = true;
      res.emit("close");
    },
    warnings,
  };
}

const answered: CallHandler = { handle: () => of({ state: "completed" }) };

describe("RequestLogInterceptor", () => {
  it("warns, with the client's address, when a change was made after its client had gone", async () => {
    const { sut, context, clientLeaves, warnings } = exchange("DELETE");
    clientLeaves();
    await lastValueFrom(sut.intercept(context, answered));
    assert.deepEqual(warnings, [
      [
        {
          clientAddress: "198.51.100.7",
          tunnelId: "3f6c0b9e-6d2a-4c1e-9a57-0c2b8f1d4e21",
          actor: "engineer:olivia",
        },
        "the change was made, but its client went away before the answer",
      ],
    ]);
  });

  it("stays quiet for a change whose client is still there, and for a read whose client left", async () => {
    const write = exchange("POST");
    await lastValueFrom(write.sut.intercept(write.context, answered));
    const read = exchange("GET");
    read.clientLeaves();
    await lastValueFrom(read.sut.intercept(read.context, answered));
    assert.deepEqual([...write.warnings, ...read.warnings], []);
  });
});
