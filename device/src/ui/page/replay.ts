// The replay page: one recorded session of support, played in the browser by the
// bundled asciinema-player from the asciicast the device serves for it.

/** The global that /assets/player/asciinema-player.min.js defines. */
declare const AsciinemaPlayer: {
  create(
    source: { data: string },
    element: HTMLElement,
    options?: Record<string, unknown>,
  ): unknown;
};

async function play(): Promise<void> {
  const problem = document.getElementById("problem")!;
  const sessionId = new URLSearchParams(window.location.search).get("session") ?? "";
  document.getElementById("replay-title")!.textContent = `Session ${sessionId}`;
  try {
    const res = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}/cast`);
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { message?: string };
      throw new Error(body.message ?? `the page's server answered ${res.status}`);
    }
    AsciinemaPlayer.create({ data: await res.text() }, document.getElementById("player")!, {
      fit: "width",
      idleTimeLimit: 2,
      autoPlay: true,
    });
  } catch (err) {
    problem.textContent = `This session cannot be replayed: ${(err as Error).message}`;
    problem.hidden = false;
  }
}

void play();
