-- Out-of-band changes to IaC-managed groups: console, CLI or SDK changes to a group its IaC manages, one row per group changed, between two UTC days (parameters: first and last day, 'YYYY/MM/DD').
SELECT e.event_time, e.account_id, e.region, g.group_id, e.event_name, e.provenance.principal AS principal,
       e.provenance.origin AS origin, e.provenance.change_control AS change_control, e.severity, e.event_id
FROM events e
CROSS JOIN UNNEST(e.group_ids) AS g (group_id)
WHERE e.part_day BETWEEN ? AND ?
  AND e.provenance.manual_change = true
ORDER BY e.event_time, e.event_id, g.group_id
