/**
 * A local stand-in for Supabase's Management API SQL endpoint, over the local stack:
 *   POST /v1/projects/{ref}/database/query, Authorization: Bearer <token>, body {"query", "read_only"?}
 *   -> 201 with the rows as a JSON array; 401 for another token; 404 for another project; 400 {message}
 *      when the database refuses the query. A read_only query runs in a read-only transaction as postgres.
 * Every request is recorded, so a test can check what verify sent (and that the token went in the header only).
 */
import { createServer, IncomingHttpHeaders, Server } from "node:http";
import { AddressInfo } from "node:net";
import { Client } from "pg";
import { stack } from "./db";

export interface ApiRequest {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface FakeManagementApi {
  url: string;
  requests: ApiRequest[];
  close: () => Promise<void>;
}

export async function startManagementApi(projectRef: string, token: string): Promise<FakeManagementApi> {
  const requests: ApiRequest[] = [];
  const reply = (res: import("node:http").ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "Content-Type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      requests.push({ url: req.url ?? "", headers: req.headers, body });
      const match = /^\/v1\/projects\/([^/]+)\/database\/query$/.exec(req.url ?? "");
      if (req.method !== "POST" || !match) return reply(res, 404, { message: "Not found" });
      if (req.headers.authorization !== `Bearer ${token}`) return reply(res, 401, { message: "Unauthorized" });
      if (match[1] !== projectRef) return reply(res, 404, { message: "Project not found" });
      let parsed: { query?: unknown; read_only?: unknown };
      try {
        parsed = JSON.parse(body);
      } catch {
        return reply(res, 400, { message: "Body is not JSON" });
      }
      if (typeof parsed.query !== "string") return reply(res, 400, { message: "query must be a string" });
      const client = new Client({ connectionString: stack().postgresUrl });
      try {
        await client.connect();
        await client.query(parsed.read_only === true ? "begin read only" : "begin");
        const result = await client.query(parsed.query);
        await client.query("rollback");
        reply(res, 201, result.rows);
      } catch (error) {
        reply(res, 400, { message: `Failed to run sql query: ${(error as Error).message}` });
      } finally {
        await client.end().catch(() => undefined);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
