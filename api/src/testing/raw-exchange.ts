// Bytes on a raw connection, for what no HTTP client sends (a request with
// garbage behind it, a body cut short).
import { connect } from "node:net";

/** Writes `bytes` on one TCP connection and returns all the api answered until it closed. */
export function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("close", () => resolve(answer));
    socket.on("error", reject);
  });
}
