// The one place either CLI writes output. Machine output (data, `--json`) goes to
// stdout; human chatter (steps, progress, warnings) to stderr. On a terminal slow
// steps get a spinner; otherwise each step is one plain line, so logs and CI stay readable.

export interface OutputStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface PrinterOptions {
  stdout: OutputStream;
  stderr: OutputStream;
  json: boolean;
  /** Spinners only when stderr is a terminal. */
  tty: boolean;
  /** Tests silence chatter; data still goes to stdout. */
  quiet?: boolean;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A slow step: started, then ended with `done` or `fail`. */
export interface Step {
  update(text: string): void;
  done(text?: string): void;
  fail(text?: string): void;
}

export class Printer {
  constructor(private readonly options: PrinterOptions) {}

  get json(): boolean {
    return this.options.json;
  }

  /** Data for scripts: JSON under `--json`, else the human rendering given. */
  data(value: unknown, human: () => string): void {
    if (this.options.json) this.options.stdout.write(JSON.stringify(value, null, 2) + "\n");
    else {
      const text = human();
      if (text) this.options.stdout.write(text.endsWith("\n") ? text : text + "\n");
    }
  }

  /** A line of human output on stdout (not printed under `--json`). */
  line(text: string): void {
    if (!this.options.json) this.options.stdout.write(text + "\n");
  }

  info(text: string): void {
    if (!this.options.quiet) this.options.stderr.write(text + "\n");
  }

  warn(text: string): void {
    this.options.stderr.write(`warning: ${text}\n`);
  }

  error(text: string): void {
    this.options.stderr.write(`error: ${text}\n`);
  }

  step(text: string): Step {
    const { stderr, tty, quiet } = this.options;
    const started = Date.now();
    const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (quiet) return { update() {}, done() {}, fail() {} };
    if (!tty) {
      stderr.write(`… ${text}\n`);
      return {
        update: (t) => stderr.write(`  ${t}\n`),
        done: (t) => stderr.write(`✓ ${t ?? text} (${elapsed()})\n`),
        fail: (t) => stderr.write(`✗ ${t ?? text}\n`),
      };
    }
    let current = text;
    let frame = 0;
    const render = () => stderr.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${current}`);
    render();
    const timer = setInterval(render, 100);
    timer.unref();
    const end = (mark: string, t: string) => {
      clearInterval(timer);
      stderr.write(`\r\x1b[2K${mark} ${t}\n`);
    };
    return {
      update: (t) => {
        current = `${text}: ${t}`;
        render();
      },
      done: (t) => end("✓", `${t ?? text} (${elapsed()})`),
      fail: (t) => end("✗", t ?? text),
    };
  }
}
