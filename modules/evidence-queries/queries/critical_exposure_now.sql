-- CRITICAL exposure now: the internet-reachable interfaces rated CRITICAL in the exposure report of each account-region's latest snapshot.
WITH latest AS (
  SELECT part_account, part_region, min(regexp_extract("$path", '/([0-9]{13})-[0-9]{8}T[0-9]{9}Z\.csv$', 1)) AS stem
  FROM snapshots
  GROUP BY part_account, part_region
)
SELECT e.account_id, e.region, e.group_id, e.group_name, e.rule_id, e.protocol, e.from_port, e.to_port, e.peer,
       e.resource_type, e.resource_id, e.network_interface_id, e.public_ip, e.via
FROM exposure e
JOIN latest l
  ON e.part_account = l.part_account AND e.part_region = l.part_region
 AND regexp_extract(e."$path", '/([0-9]{13})-[0-9]{8}T[0-9]{9}Z\.csv$', 1) = l.stem
WHERE e.severity = 'CRITICAL'
ORDER BY e.account_id, e.region, e.group_id, e.rule_id, e.network_interface_id
