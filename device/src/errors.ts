// Errors the commands throw; the one top-level handler maps them to exit codes,
// which are common's one table, shared with the engineer's `support`.
import type { ApprovalRefusalKind } from "@support-tunnel/common";
import { ExitCode } from "@support-tunnel/common/dist/exit-codes";

export { ExitCode };

export class DeviceError extends Error {
  override name = "DeviceError";
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.Failure,
  ) {
    super(message);
  }
}

export class UsageError extends DeviceError {
  override name = "UsageError";
  constructor(message: string) {
    super(message, ExitCode.Usage);
  }
}

export class ApprovalRefusedError extends DeviceError {
  override name = "ApprovalRefusedError";
  constructor(
    message: string,
    /** What the api (and so the engineer) is told. */
    readonly kind: ApprovalRefusalKind,
    /** Whether the api took the report: the engineer knows, and the tunnel is approvable again. */
    readonly supportTold = false,
  ) {
    super(message, ExitCode.Refused);
  }
}

/** Not approved yet, or over: nothing to connect to. */
export class NotReadyError extends DeviceError {
  override name = "NotReadyError";
  constructor(message: string) {
    super(message, ExitCode.Conflict);
  }
}

/** Approved, but the customer's start has not come: nothing is set up before it. */
export class NotYetOpenError extends NotReadyError {
  override name = "NotYetOpenError";
  constructor(
    message: string,
    /** ISO time access opens. */
    readonly opensAt: string,
  ) {
    super(message);
  }
}
