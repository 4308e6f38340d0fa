// Errors the commands throw; the one top-level handler maps them to exit codes.

export const ExitCode = {
  Ok: 0,
  Failure: 1,
  Usage: 2,
  /** The approval did not verify: tampered, wrong PSK or wrong server key. Nothing was created. */
  ApprovalRefused: 3,
  /** Not approved yet, or the tunnel has ended or expired. */
  NotReady: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

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
  constructor(message: string) {
    super(message, ExitCode.ApprovalRefused);
  }
}

/** Not approved yet, or over: nothing to connect to. */
export class NotReadyError extends DeviceError {
  override name = "NotReadyError";
  constructor(message: string) {
    super(message, ExitCode.NotReady);
  }
}
