/**
 * With a million rows in cron_execution_log, every query the on-call commands really send (`status` and
 * `logs`, recorded off the client they are given) reads the log through an index, never the whole table.
 */
import { Client, QueryResult } from "pg";
import { withClient } from "../support/db";
import { status } from "../../cli/commands/status";
import { logs } from "../../cli/commands/logs";

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

interface Sent {
  text: string;
  values?: unknown[];
}

const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];
const busy = "index-probe-busy";
const rare = "index-probe-rare";

/** Runs `command` with a client that records each statement it sends, then explains the ones that read the log. */
async function logReads(command: (client: Client) => Promise<unknown>): Promise<{ sql: string; nodes: PlanNode[] }[]> {
  return withClient(async (client) => {
    const sent: Sent[] = [];
    const recording = new Proxy(client, {
      get: (target, property) =>
        property === "query"
          ? (text: string, values?: unknown[]): Promise<QueryResult> => {
              sent.push({ text, values });
              return target.query(text, values);
            }
          : Reflect.get(target, property),
    });
    await command(recording);
    const reads = sent.filter((statement) => statement.text.includes("cron_execution_log"));
    const plans = [];
    for (const read of reads) {
      const { rows } = await client.query(`explain (format json) ${read.text}`, read.values);
      plans.push({ sql: read.text.replace(/\s+/g, " "), nodes: flatten(rows[0]["QUERY PLAN"][0].Plan) });
    }
    return plans;
  });
}

/** The plan nodes that read cron_execution_log, with how: an index scan names its index. */
const logScans = (nodes: PlanNode[]) => nodes.filter((node) => node["Relation Name"] === "cron_execution_log").map((node) => `${node["Node Type"]} ${node["Index Name"] ?? ""}`.trim());

beforeAll(() =>
  withClient(async (client) => {
    // Two years of minute-by-minute history (far more than retention keeps): one busy job, one rare one.
    await client.query(
      `insert into public.cron_execution_log (job_name, triggered_at, status, finished_at)
       select case when g % 1000 = 0 then $2 else $1 end, now() - (g || ' minutes')::interval, 'succeeded', now() - (g || ' minutes')::interval
         from generate_series(1, 1000000) g`,
      [busy, rare],
    );
    await client.query("analyze public.cron_execution_log");
  }),
);

afterAll(() =>
  withClient(async (client) => {
    await client.query("delete from public.cron_execution_log where job_name in ($1, $2)", [busy, rare]);
    await client.query("analyze public.cron_execution_log");
  }),
);

describe.each([
  ["status", (jobName: string) => (client: Client) => status(client, jobName)],
  ["logs --since 24h", (jobName: string) => (client: Client) => logs(client, jobName, new Date(Date.now() - 86_400_000))],
])("reminder-cron %s", (_command, run) => {
  test.each([busy, rare])("reads the log of %s through indexes only", async (jobName) => {
    const reads = await logReads(run(jobName));
    expect(reads.length).toBeGreaterThan(0);
    for (const { sql, nodes } of reads) {
      const scans = logScans(nodes);
      expect({ sql, scans }).toEqual({ sql, scans: expect.arrayContaining([expect.stringMatching(/^(Index|Index Only|Bitmap Index) Scan|^Bitmap Heap Scan/)]) });
      expect({ sql, seqScans: scans.filter((scan) => scan.startsWith("Seq Scan")) }).toEqual({ sql, seqScans: [] });
    }
  });
});

test("the last-24-hours read uses the triggered_at index", async () => {
  const reads = await logReads((client) => logs(client, busy, new Date(Date.now() - 86_400_000)));
  const indexes = reads.flatMap(({ nodes }) => nodes.map((node) => node["Index Name"]).filter(Boolean));
  expect(indexes.some((name) => /^cron_execution_log_(job_)?triggered_at_idx$/.test(String(name)))).toBe(true);
});
