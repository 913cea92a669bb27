/**
 * With a million rows in cron_execution_log, the on-call queries read through indexes, not the table.
 */
import { withClient } from "../support/db";

interface PlanNode {
  "Node Type": string;
  "Index Name"?: string;
  "Relation Name"?: string;
  Plans?: PlanNode[];
}

const flatten = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(flatten)];

async function planNodes(sql: string): Promise<PlanNode[]> {
  return withClient(async (client) => {
    const { rows } = await client.query(`explain (format json) ${sql}`);
    return flatten(rows[0]["QUERY PLAN"][0].Plan);
  });
}

beforeAll(() =>
  withClient(async (client) => {
    // Two years of minute-by-minute history (far more than retention keeps): one busy job, one rare one.
    await client.query(`
      insert into public.cron_execution_log (job_name, triggered_at, status, finished_at)
      select case when g % 1000 = 0 then 'index-probe-rare' else 'index-probe-busy' end, now() - (g || ' minutes')::interval, 'succeeded', now() - (g || ' minutes')::interval
        from generate_series(1, 1000000) g`);
    await client.query("analyze public.cron_execution_log");
  }),
);

afterAll(() =>
  withClient(async (client) => {
    await client.query("delete from public.cron_execution_log where job_name like 'index-probe-%'");
    await client.query("analyze public.cron_execution_log");
  }),
);

test("the last-24-hours query uses the triggered_at index", async () => {
  const nodes = await planNodes(
    "select * from public.cron_execution_log where triggered_at > now() - interval '24 hours' order by triggered_at desc",
  );
  expect(nodes.some((n) => n["Node Type"] === "Seq Scan")).toBe(false);
  expect(nodes.map((n) => n["Index Name"]).filter(Boolean)).toContain("cron_execution_log_triggered_at_idx");
});

test("the last runs of a rarely run job use the (job_name, triggered_at) index", async () => {
  const nodes = await planNodes(
    "select * from public.cron_execution_log where job_name = 'index-probe-rare' order by triggered_at desc limit 10",
  );
  expect(nodes.some((n) => n["Node Type"] === "Seq Scan")).toBe(false);
  expect(nodes.map((n) => n["Index Name"]).filter(Boolean)).toContain("cron_execution_log_job_triggered_at_idx");
});
