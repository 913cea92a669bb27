-- Demo data for a fresh local stack (`npm run db:reset`, `supabase db reset`): six assignments of three peer
-- mentors, so a reminder run has something to find. Dates are relative to today, so the demo always reads
-- the same: three assignments are due (a, b, f), three are not (c: contact yesterday, d: contact logged in
-- bulk, e: paused).
insert into public.assignments (id, peer_mentor_id, contact_id, status, follow_up_interval_days, assigned_on)
values
  ('a0000000-0000-4000-8000-00000000000a', 'e0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000a', 'active', 14, current_date - 30),
  ('a0000000-0000-4000-8000-00000000000b', 'e0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-00000000000b', 'active',  7, current_date - 60),
  ('a0000000-0000-4000-8000-00000000000c', 'e0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000c', 'active', 14, current_date - 60),
  ('a0000000-0000-4000-8000-00000000000d', 'e0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-00000000000d', 'active', 14, current_date - 60),
  ('a0000000-0000-4000-8000-00000000000e', 'e0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-00000000000e', 'paused', 14, current_date - 60),
  ('a0000000-0000-4000-8000-00000000000f', 'e0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-00000000000f', 'active', 30, current_date - 90)
on conflict (id) do nothing;

-- Contacts, registered by each path; the activities trigger sets last_contact_date from them.
insert into public.activities (id, assignment_id, registered_by, registration_path, occurred_on)
values
  ('ac000000-0000-4000-8000-00000000000b', 'a0000000-0000-4000-8000-00000000000b', 'e0000000-0000-4000-8000-000000000001', 'direct',            current_date - 10),
  ('ac000000-0000-4000-8000-00000000000c', 'a0000000-0000-4000-8000-00000000000c', 'f0000000-0000-4000-8000-000000000001', 'coordinator_proxy', current_date - 1),
  ('ac000000-0000-4000-8000-0000000000d1', 'a0000000-0000-4000-8000-00000000000d', 'f0000000-0000-4000-8000-000000000001', 'bulk',              current_date - 3),
  ('ac000000-0000-4000-8000-0000000000f1', 'a0000000-0000-4000-8000-00000000000f', 'e0000000-0000-4000-8000-000000000002', 'proxy',             current_date - 40)
on conflict (id) do nothing;
