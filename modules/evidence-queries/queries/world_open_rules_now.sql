-- World-open rules now, by account: the rules with peer 0.0.0.0/0 or ::/0 in each account-region's latest snapshot.
WITH latest AS (
  SELECT part_account, part_region, min(regexp_extract("$path", '/([0-9]{13})-[0-9]{8}T[0-9]{9}Z\.csv$', 1)) AS stem
  FROM snapshots
  GROUP BY part_account, part_region
)
SELECT s.account_id, s.region, s.vpc_id, s.group_id, s.group_name, s.direction, s.rule_id, s.protocol,
       s.from_port, s.to_port, s.peer, s.rule_description
FROM snapshots s
JOIN latest l
  ON s.part_account = l.part_account AND s.part_region = l.part_region
 AND regexp_extract(s."$path", '/([0-9]{13})-[0-9]{8}T[0-9]{9}Z\.csv$', 1) = l.stem
WHERE s.peer IN ('0.0.0.0/0', '::/0')
ORDER BY s.account_id, s.region, s.group_id, s.rule_id
