// The consent page: ask for support, send the codes, see who is in, stop it. It
// polls the JSON routes and updates each tunnel's card in place, so a selection
// (someone copying the key by hand) or an open timeline survives the refresh.
import type {
  ConsentTunnel,
  ConsentTunnelStatus,
  PageSessionInfo,
  RequestedTunnel,
  SessionSummary,
  StoppedTunnel,
  TimelineEntry,
} from "../consent-api.js";
import { clockTime, keyGroups, relativeTime, timeAndRelative } from "./format.js";
import { ApiFailure, PageApi } from "./page-api.js";

const POLL_MS = 1500;

const BADGES: Record<ConsentTunnelStatus, string> = {
  waiting: "Waiting",
  connecting: "Connecting",
  connected: "Connected",
  ending: "Ending",
  ended: "Ended",
};

/** How a form's text becomes a choice's JSON value; text as it is otherwise. */
const CHOICE_READERS: Record<string, (value: string) => unknown> = {
  ttlSeconds: Number,
  start: (value) => new Date(value).toISOString(),
  engineers: (value) =>
    value
      .split(",")
      .map((name) => name.trim())
      .filter((name) => name !== ""),
  // A word that is not a number becomes null: the device names the bad one.
  ports: (value) =>
    value
      .split(",")
      .map((port) => port.trim())
      .filter((port) => port !== "")
      .map((port) => (/^[0-9]+$/.test(port) ? Number(port) : null)),
};

const api = new PageApi();
const cards = new Map<string, HTMLElement>();
let info: PageSessionInfo;
let polling = false;

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

function part<T extends Element = HTMLElement>(root: Element, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

/** Only when it changed: rewriting the same text would drop a selection in it. */
function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

function show(node: HTMLElement, visible: boolean): void {
  if (node.hidden === visible) node.hidden = !visible;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function showProblem(message: string | null): void {
  const problem = byId("problem");
  setText(problem, message ?? "");
  show(problem, message !== null);
}

// ---- start, login ----------------------------------------------------------

async function start(): Promise<void> {
  try {
    info = await api.sessionInfo(true);
  } catch (err) {
    showProblem(`This device's support service is not answering (${messageOf(err)}). Retrying…`);
    window.setTimeout(() => void start(), 3000);
    return;
  }
  showProblem(null);
  setText(byId("device-name"), `on ${info.deviceName}`);
  document.title = `Remote support on ${info.deviceName}`;
  if (info.loginRequired && !info.authenticated) showLogin();
  else enterApp();
}

function showLogin(): void {
  show(byId("app"), false);
  show(byId("login"), true);
  byId("password").focus();
}

async function login(form: HTMLFormElement): Promise<void> {
  clearFieldErrors(form);
  const password = byId<HTMLInputElement>("password");
  try {
    const session = await api.send<PageSessionInfo>("POST", "/api/login", {
      password: password.value,
    });
    password.value = "";
    info = session!;
    api.remember(info);
    enterApp();
  } catch (err) {
    showFieldError(form, err);
  }
}

function enterApp(): void {
  show(byId("login"), false);
  show(byId("app"), true);
  for (const field of document.querySelectorAll<HTMLElement>("[data-choice]")) {
    show(field, info.choices.includes(field.dataset.choice ?? ""));
  }
  if (!polling) void poll();
}

// ---- the tunnels -------------------------------------------------------------

async function poll(): Promise<void> {
  polling = true;
  try {
    await refresh();
    showProblem(null);
  } catch (err) {
    if (err instanceof ApiFailure && err.status === 401) {
      polling = false;
      showLogin();
      return;
    }
    showProblem(`This device's support service is not answering (${messageOf(err)}). Retrying…`);
  }
  window.setTimeout(() => void poll(), POLL_MS);
}

async function refresh(): Promise<void> {
  const { tunnels } = await api.get<{ tunnels: ConsentTunnel[] }>("/api/tunnels");
  const now = Date.now();
  const live = tunnels.filter((t) => t.status !== "ended");
  const ended = tunnels.filter((t) => t.status === "ended");
  place(byId("live-list"), live, now);
  place(byId("ended-list"), ended, now);
  show(byId("no-live"), live.length === 0);
  show(byId("ended"), ended.length > 0);
  for (const [id, card] of cards) {
    if (!tunnels.some((t) => t.tunnelId === id)) {
      card.remove();
      cards.delete(id);
    }
  }
}

function place(list: HTMLElement, tunnels: ConsentTunnel[], now: number): void {
  tunnels.forEach((tunnel, i) => {
    const card = cards.get(tunnel.tunnelId) ?? createCard(tunnel.tunnelId);
    update(card, tunnel, now);
    // Moved only when out of place: moving a node drops a selection inside it.
    if (list.children[i] !== card) list.insertBefore(card, list.children[i] ?? null);
  });
}

function createCard(tunnelId: string): HTMLElement {
  const template = byId<HTMLTemplateElement>("tunnel-template");
  const card = (template.content.firstElementChild as HTMLElement).cloneNode(true) as HTMLElement;
  card.dataset.tunnelId = tunnelId;
  for (const button of card.querySelectorAll<HTMLButtonElement>("button.copy")) {
    button.addEventListener("click", () => void copyCodes(card, button));
  }
  const stopButton = part<HTMLButtonElement>(card, "button.stop");
  stopButton.addEventListener("click", () => void stop(tunnelId, stopButton));
  const timeline = part<HTMLDetailsElement>(card, "details.timeline");
  timeline.addEventListener("toggle", () => {
    if (timeline.open) void loadTimeline(tunnelId, part(timeline, "ol"));
  });
  const sessions = part<HTMLDetailsElement>(card, "details.sessions");
  sessions.addEventListener("toggle", () => {
    if (sessions.open) void loadSessions(tunnelId, part(sessions, "ul"));
  });
  cards.set(tunnelId, card);
  return card;
}

function headline(t: ConsentTunnel, now: number): string {
  switch (t.status) {
    case "waiting":
      return t.startsAt && Date.parse(t.startsAt) > now
        ? `Waiting for support to approve; opens ${relativeTime(t.startsAt, now)}`
        : "Waiting for support to approve";
    case "connecting":
      return "Approved: connecting…";
    case "connected": {
      const who = t.approvedBy ?? t.supportUser;
      const ticket = t.ticket ? ` (ticket ${t.ticket})` : "";
      const since = t.connectedSince ? ` since ${clockTime(t.connectedSince, now)}` : "";
      return `Connected as ${who}${ticket}${since}`;
    }
    case "ending":
      return "Ending…";
    case "ended":
      return (
        { customer: "Stopped by you", support: "Ended by support", expiry: "Expired" }[
          t.endedBy as string
        ] ?? "Ended"
      );
  }
}

function facts(t: ConsentTunnel, now: number): [string, string][] {
  const rows: [string, string][] = [];
  if (t.ticket) rows.push(["Ticket", t.ticket]);
  if (t.status === "ended") {
    if (t.endedAt) rows.push(["Ended", timeAndRelative(t.endedAt, now)]);
    if (t.endReason) rows.push(["Why", t.endReason]);
  } else {
    rows.push(["Ends", `${relativeTime(t.expiresAt, now)} (at ${clockTime(t.expiresAt, now)})`]);
  }
  if (t.startsAt) rows.push(["Not before", timeAndRelative(t.startsAt, now)]);
  if (t.allowedEngineers?.length) rows.push(["Only for", t.allowedEngineers.join(", ")]);
  if (t.allowedPorts?.length) rows.push(["Ports support may open", t.allowedPorts.join(", ")]);
  if (t.approvedBy) rows.push(["Approved by", t.approvedBy]);
  if (t.connectedSince && t.status === "connected")
    rows.push(["Connected since", timeAndRelative(t.connectedSince, now)]);
  rows.push([t.status === "ended" ? "Support account" : "Support logs in as", t.supportUser]);
  rows.push(["Requested", timeAndRelative(t.requestedAt, now)]);
  if (!t.presharedKey) rows.push(["Tunnel id", t.tunnelId]);
  return rows;
}

function update(card: HTMLElement, t: ConsentTunnel, now: number): void {
  if (card.dataset.status !== t.status) card.dataset.status = t.status;
  if (t.status !== "waiting") card.classList.remove("new");
  setText(part(card, ".badge"), BADGES[t.status] ?? t.status);
  setText(part(card, ".headline"), headline(t, now));
  const description = part(card, ".description");
  setText(description, t.description ?? "");
  show(description, Boolean(t.description));

  const codes = part(card, ".codes");
  show(codes, t.presharedKey !== undefined);
  if (t.presharedKey !== undefined && card.dataset.key !== t.presharedKey) {
    card.dataset.key = t.presharedKey;
    setText(part(card, ".tunnel-id"), t.tunnelId);
    // Groups are spans apart, not spaces: a key selected by hand copies whole.
    part(card, ".key").replaceChildren(
      ...keyGroups(t.presharedKey).map((group) => {
        const span = document.createElement("span");
        span.className = "group";
        span.textContent = group;
        return span;
      }),
    );
  }

  const rows = facts(t, now);
  const list = part(card, ".facts");
  const text = rows.map(([k, v]) => `${k}: ${v}`).join("\n");
  if (list.dataset.text !== text) {
    list.dataset.text = text;
    list.replaceChildren(
      ...rows.flatMap(([label, value]) => {
        const dt = document.createElement("dt");
        dt.textContent = label;
        const dd = document.createElement("dd");
        dd.textContent = value;
        return [dt, dd];
      }),
    );
  }

  const inSession = part(card, ".in-session");
  const active = t.activeSessions ?? [];
  show(inSession, active.length > 0);
  const activeText = active
    .map((s) => `${s.engineer}${s.kind ? `, ${s.kind}` : ""}, since ${clockTime(s.since, now)}`)
    .join("\n");
  if (inSession.dataset.text !== activeText) {
    inSession.dataset.text = activeText;
    part(inSession, "ul").replaceChildren(...activeText.split("\n").filter(Boolean).map(item));
  }

  show(part(card, "details.timeline"), info.features.timeline);
  show(part(card, "details.sessions"), info.features.sessions);
  const stopButton = part<HTMLButtonElement>(card, "button.stop");
  show(stopButton, t.status !== "ended" && t.status !== "ending");
  if (!stopButton.disabled)
    setText(stopButton, t.status === "waiting" ? "Cancel the request" : "Stop support access");
}

function item(text: string): HTMLLIElement {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

async function stop(tunnelId: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  setText(button, "Stopping…");
  try {
    const result = await api.send<StoppedTunnel>("DELETE", `/api/tunnels/${tunnelId}`);
    if (result && !result.apiTold)
      showProblem(
        "Support access was removed from this device; the support service could not be told yet.",
      );
    await refresh();
  } catch (err) {
    showProblem(`Could not stop it: ${messageOf(err)}`);
  } finally {
    button.disabled = false;
  }
}

async function loadTimeline(tunnelId: string, list: HTMLElement): Promise<void> {
  try {
    const { entries } = await api.get<{ entries: TimelineEntry[] }>(
      `/api/tunnels/${tunnelId}/timeline`,
    );
    const now = Date.now();
    list.replaceChildren(...entries.map((e) => item(`${clockTime(e.at, now)}  ${e.text}`)));
    if (entries.length === 0) list.replaceChildren(item("Nothing recorded yet."));
  } catch (err) {
    list.replaceChildren(item(`No timeline: ${messageOf(err)}`));
  }
}

async function loadSessions(tunnelId: string, list: HTMLElement): Promise<void> {
  try {
    const { sessions } = await api.get<{ sessions: SessionSummary[] }>(
      `/api/tunnels/${tunnelId}/sessions`,
    );
    const now = Date.now();
    list.replaceChildren(
      ...sessions.map((s) => {
        const what = s.kind === "command" ? `ran: ${s.command ?? "a command"}` : "opened a shell";
        const exit = s.exitCode === undefined ? "" : ` (exit ${s.exitCode})`;
        const li = item(`${clockTime(s.startedAt, now)}  ${s.engineer} ${what}${exit} `);
        if (s.replayable && info.features.replay) {
          const link = document.createElement("a");
          link.href = `/replay?session=${encodeURIComponent(s.sessionId)}`;
          link.target = "_blank";
          link.rel = "noopener";
          link.textContent = "Replay";
          li.append(link);
        }
        return li;
      }),
    );
    if (sessions.length === 0) list.replaceChildren(item("No sessions."));
  } catch (err) {
    list.replaceChildren(item(`No sessions: ${messageOf(err)}`));
  }
}

// ---- asking for support ---------------------------------------------------------

function readChoices(form: HTMLFormElement): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const name of info.choices) {
    const field = form.elements.namedItem(name) as HTMLInputElement | null;
    const value = field?.value.trim() ?? "";
    if (value === "") continue;
    const read = CHOICE_READERS[name];
    body[name] = read ? read(value) : value;
  }
  return body;
}

async function requestSupport(form: HTMLFormElement): Promise<void> {
  clearFieldErrors(form);
  const button = byId<HTMLButtonElement>("request-button");
  button.disabled = true;
  setText(button, "Requesting…");
  try {
    const created = await api.send<RequestedTunnel>("POST", "/api/tunnels", readChoices(form));
    form.reset();
    await refresh();
    const card = cards.get(created!.tunnelId);
    if (card) {
      for (const other of cards.values()) other.classList.remove("new");
      card.classList.add("new");
      card.scrollIntoView({ block: "nearest" });
    }
  } catch (err) {
    showFieldError(form, err);
  } finally {
    button.disabled = false;
    setText(button, "Request support");
  }
}

function clearFieldErrors(form: HTMLFormElement): void {
  for (const p of form.querySelectorAll<HTMLElement>("[data-error-for]")) show(p, false);
}

function showFieldError(form: HTMLFormElement, err: unknown): void {
  const field = err instanceof ApiFailure ? (err.field ?? "body").split(".")[0] : "body";
  const slot =
    form.querySelector<HTMLElement>(`[data-error-for="${field}"]`) ??
    form.querySelector<HTMLElement>('[data-error-for="body"]');
  if (!slot) return showProblem(messageOf(err));
  setText(slot, messageOf(err));
  show(slot, true);
}

// ---- copying the codes -------------------------------------------------------------

async function copyCodes(card: HTMLElement, button: HTMLButtonElement): Promise<void> {
  const id = card.dataset.tunnelId ?? "";
  const key = card.dataset.key ?? "";
  const text = {
    id,
    key,
    both: `tunnel id: ${id}\npreshared key: ${key}`,
  }[button.dataset.copy ?? "both"]!;
  const label = button.textContent ?? "Copy";
  try {
    await copyText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Select it and copy";
  }
  window.setTimeout(() => (button.textContent = label), 1500);
}

async function copyText(text: string): Promise<void> {
  // The clipboard API needs a secure context: loopback is one, a LAN address is not.
  if (window.isSecureContext && navigator.clipboard) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.readOnly = true;
  area.className = "offscreen";
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("the browser refused to copy");
}

// ---- wiring --------------------------------------------------------------------

byId<HTMLFormElement>("request-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void requestSupport(event.target as HTMLFormElement);
});
byId<HTMLFormElement>("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void login(event.target as HTMLFormElement);
});
void start();
