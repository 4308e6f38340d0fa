import assert from "node:assert/strict";
import {
  canTransition,
  isLive,
  isTerminal,
  isTunnelState,
  stateFromRank,
  stateRank,
  StoppedBy,
  terminalStateFor,
  TUNNEL_STATES,
  TunnelState,
} from "./state";

describe("tunnel states", () => {
  const { Pending, Started, Running, Connected, Completed, TimedOut } = TunnelState;

  it("ranks the states in the documented order, 10 apart", () => {
    assert.deepEqual(
      TUNNEL_STATES.map((s) => [s, stateRank(s)]),
      [
        ["pending", 10],
        ["started", 20],
        ["running", 30],
        ["connected", 40],
        ["completed", 50],
        ["timedout", 60],
      ],
    );
  });

  it("maps every rank back to its state and refuses unknown ranks", () => {
    for (const state of TUNNEL_STATES) assert.equal(stateFromRank(stateRank(state)), state);
    assert.throws(() => stateFromRank(15), /unknown tunnel state rank 15/);
    assert.throws(() => stateFromRank(0), /unknown tunnel state rank/);
  });

  it("allows exactly the forward steps pending → started → running → connected", () => {
    const allowed = new Set([
      `${Pending}>${Started}`,
      `${Started}>${Running}`,
      `${Running}>${Connected}`,
    ]);
    for (const from of TUNNEL_STATES) {
      for (const to of TUNNEL_STATES) {
        if (isTerminal(to)) continue;
        assert.equal(canTransition(from, to), allowed.has(`${from}>${to}`), `${from} → ${to}`);
      }
    }
  });

  it("lets every live state end, as completed or timed out", () => {
    for (const from of [Pending, Started, Running, Connected]) {
      assert.ok(canTransition(from, Completed), `${from} → completed`);
      assert.ok(canTransition(from, TimedOut), `${from} → timedout`);
    }
  });

  it("never leaves a terminal state, not even for the other terminal state", () => {
    for (const from of [Completed, TimedOut]) {
      for (const to of TUNNEL_STATES)
        assert.equal(canTransition(from, to), false, `${from} → ${to}`);
    }
  });

  it("only ever allows moves to a higher rank (monotonic)", () => {
    for (const from of TUNNEL_STATES) {
      for (const to of TUNNEL_STATES) {
        if (canTransition(from, to)) assert.ok(stateRank(to) > stateRank(from), `${from} → ${to}`);
      }
    }
  });

  it("calls completed and timed out terminal and the rest live", () => {
    assert.deepEqual(TUNNEL_STATES.filter(isTerminal), [Completed, TimedOut]);
    assert.deepEqual(TUNNEL_STATES.filter(isLive), [Pending, Started, Running, Connected]);
  });

  it("recognises state names and nothing else", () => {
    for (const state of TUNNEL_STATES) assert.ok(isTunnelState(state));
    for (const value of ["Pending", "PENDING", "", "stopped", 10, null, undefined, {}]) {
      assert.equal(isTunnelState(value), false, JSON.stringify(value));
    }
  });

  it("times out a tunnel stopped by expiry and completes one stopped by anyone else", () => {
    assert.equal(terminalStateFor(StoppedBy.Expiry), TimedOut);
    assert.equal(terminalStateFor(StoppedBy.Device), Completed);
    assert.equal(terminalStateFor(StoppedBy.Engineer), Completed);
  });
});
