import assert from "node:assert/strict";
import {
  ENTERED_STATES,
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

  it("calls completed and timed out terminal and nothing else", () => {
    assert.deepEqual(TUNNEL_STATES.filter(isTerminal), [Completed, TimedOut]);
  });

  it("offers every state a tunnel can be in, in rank order, connected included", () => {
    assert.deepEqual(ENTERED_STATES, [Pending, Started, Running, Connected, Completed, TimedOut]);
    assert.equal(stateRank(Connected), 40);
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
