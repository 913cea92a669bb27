/**
 * pg_cron under Supabase's privilege model, on its own clock: the non-superuser postgres schedules a job to
 * run as another role it belongs to (as our migration does for cron_runner), and pg_cron runs it. One real
 * minute, on a lane of its own.
 */
import { waitFor, withClient } from "../support/db";

test("a job that the non-superuser postgres schedules to run as another role runs and succeeds", async () => {
  await withClient(async (client) => {
    await client.query("drop role if exists stack_probe_runner");
    await client.query("create role stack_probe_runner login");
    await client.query("grant stack_probe_runner to postgres");
    await client.query("grant usage on schema cron to stack_probe_runner");
    await client.query("set role stack_probe_runner");
    const { rows } = await client.query("select cron.schedule('stack-probe', '* * * * *', 'select 1') as jobid");
    await client.query("reset role");
    const jobid = rows[0].jobid;
    try {
      const { rows: job } = await client.query("select username from cron.job where jobid = $1", [jobid]);
      expect(job[0].username).toBe("stack_probe_runner");
      const status = await waitFor(
        "the probe job's first run",
        async () => {
          const { rows: runs } = await client.query("select status from cron.job_run_details where jobid = $1 and status <> 'running'", [jobid]);
          return runs[0]?.status as string | undefined;
        },
        75000,
        1000,
      );
      expect(status).toBe("succeeded");
    } finally {
      await client.query("set role stack_probe_runner");
      await client.query("select cron.unschedule('stack-probe')");
      await client.query("reset role");
      // No role left behind for a later file on this lane: its run history, its grant, then the role.
      await client.query("delete from cron.job_run_details where jobid = $1", [jobid]);
      await client.query("revoke usage on schema cron from stack_probe_runner");
      await client.query("drop role stack_probe_runner");
    }
  });
}, 90000);
