/**
 * A gateway in front of the real reminder function, as Supabase's is during a deploy or an outage: it
 * answers the first `failures` requests itself with `status` and forwards every later one unchanged, so a
 * test sees the retries of an occurrence reach the real function only once the gateway lets them.
 */
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";

export interface FlakyGateway {
  url: string;
  /** Every request's run_id, in order, and what the gateway answered it. */
  seen: { runId: number | null; status: number }[];
  close: () => Promise<void>;
}

export async function startFlakyGateway(target: string, failures: number, status = 503): Promise<FlakyGateway> {
  const seen: FlakyGateway["seen"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let runId: number | null = null;
      try {
        runId = JSON.parse(body).run_id ?? null;
      } catch {
        // Not JSON: recorded without a run id.
      }
      if (seen.length < failures) {
        seen.push({ runId, status });
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: `the test gateway answers ${status} to request ${seen.length} of the first ${failures}` }));
        return;
      }
      try {
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !["host", "content-length", "connection"].includes(name))) as Record<string, string>;
        const answer = await fetch(target, { method: req.method, headers, body: req.method === "GET" ? undefined : body });
        const text = await answer.text();
        seen.push({ runId, status: answer.status });
        res.writeHead(answer.status, { "Content-Type": answer.headers.get("content-type") ?? "application/json" });
        res.end(text);
      } catch (error) {
        seen.push({ runId, status: 502 });
        res.writeHead(502, { "Content-Type": "text/plain" });
        res.end(`the test gateway could not reach ${target}: ${(error as Error).message}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/functions/v1/reminder-scheduler`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
