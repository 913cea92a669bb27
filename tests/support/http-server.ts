/**
 * A local HTTP endpoint for tests: records every request and answers with what the test sets, so the
 * pg_net path and the trigger can be checked against a real socket on 127.0.0.1.
 */
import { createServer, IncomingHttpHeaders, Server } from "node:http";
import { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export interface Reply {
  status: number;
  body?: string;
  contentType?: string;
  /** Delay before answering, to provoke timeouts. */
  delayMs?: number;
}

export interface TestEndpoint {
  url: string;
  port: number;
  requests: RecordedRequest[];
  reply: (next: Reply | ((request: RecordedRequest) => Reply)) => void;
  close: () => Promise<void>;
}

/** Runs before an answer is sent; a rejection answers 500 with its message instead. */
export type BeforeAnswer = (request: RecordedRequest, reply: Reply) => Promise<void>;

export async function startEndpoint(initial: Reply = { status: 200, body: '{"ok":true}' }, beforeAnswer?: BeforeAnswer): Promise<TestEndpoint> {
  let replyWith: Reply | ((request: RecordedRequest) => Reply) = initial;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), receivedAt: Date.now() };
      requests.push(recorded);
      const reply = typeof replyWith === "function" ? replyWith(recorded) : replyWith;
      const answer = async () => {
        try {
          await beforeAnswer?.(recorded, reply);
        } catch (error) {
          if (res.destroyed) return;
          res.writeHead(500, { "Content-Type": "text/plain" });
          res.end(`test endpoint: ${(error as Error).message}`);
          return;
        }
        if (res.destroyed) return;
        res.writeHead(reply.status, { "Content-Type": reply.contentType ?? "application/json" });
        res.end(reply.body ?? "");
      };
      const timer = setTimeout(() => void answer(), reply.delayMs ?? 0);
      res.on("close", () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    reply: (next) => {
      replyWith = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * libcurl's text for a refused connection, which pg_net stores as error_msg: curl 7 (Debian 12's 7.88, and
 * the stand-in, which copies it) says "Couldn't connect to server", curl 8 (Debian 13's 8.14, under the real
 * pg_net on PostgreSQL 17) "Could not connect to server".
 */
export const refusedConnection = /^Could(n't| not) connect to server$/;
