-- Out-of-band changes to IaC-managed groups: console, CLI or SDK changes to a group its IaC manages, between two UTC days (parameters: first and last day, 'YYYY/MM/DD').
SELECT event_time, account_id, region, group_name, event_name, provenance.principal AS principal,
       provenance.origin AS origin, provenance.change_control AS change_control, severity, event_id
FROM events
WHERE part_day BETWEEN ? AND ?
  AND provenance.manual_change = true
ORDER BY event_time, event_id
