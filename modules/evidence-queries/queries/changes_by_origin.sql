-- Changes by origin and change control between two UTC days (parameters: first and last day, 'YYYY/MM/DD'), by account.
SELECT account_id,
       coalesce(provenance.origin, 'not recorded') AS origin,
       coalesce(provenance.change_control, 'not recorded') AS change_control,
       count(*) AS changes
FROM events
WHERE part_day BETWEEN ? AND ?
GROUP BY account_id, coalesce(provenance.origin, 'not recorded'), coalesce(provenance.change_control, 'not recorded')
ORDER BY account_id, origin, change_control
