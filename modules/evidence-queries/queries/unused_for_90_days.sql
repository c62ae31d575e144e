-- Groups unused for 90 days: unused in each account-region's latest audit report and in every report since one at least 90 days old.
WITH stamped AS (
  SELECT part_account, part_region, account_id, region, group_id, group_name, vpc_id, status,
         regexp_extract("$path", '/([0-9]{13})-[0-9]{8}T[0-9]{9}Z\.csv$', 1) AS stem,
         regexp_extract("$path", '/[0-9]{13}-([0-9]{8})T[0-9]{9}Z\.csv$', 1) AS stamp_day
  FROM unused
  WHERE "$path" LIKE '%.csv'
),
reports AS (
  SELECT part_account, part_region, account_id, region, group_id, group_name, vpc_id, status, stem,
         CAST(substr(stamp_day, 1, 4) || '-' || substr(stamp_day, 5, 2) || '-' || substr(stamp_day, 7, 2) AS DATE) AS day
  FROM stamped
),
latest AS (
  SELECT part_account, part_region, min(stem) AS stem FROM reports GROUP BY part_account, part_region
),
last_used AS (
  SELECT part_account, part_region, group_id, max(day) AS day
  FROM reports WHERE status <> 'unused'
  GROUP BY part_account, part_region, group_id
),
unused_since AS (
  SELECT r.part_account, r.part_region, r.group_id, min(r.day) AS day
  FROM reports r
  LEFT JOIN last_used u ON r.part_account = u.part_account AND r.part_region = u.part_region AND r.group_id = u.group_id
  WHERE r.status = 'unused' AND (u.day IS NULL OR r.day > u.day)
  GROUP BY r.part_account, r.part_region, r.group_id
)
SELECT r.account_id, r.region, r.group_id, r.group_name, r.vpc_id, CAST(s.day AS VARCHAR) AS unused_since
FROM reports r
JOIN latest l ON r.part_account = l.part_account AND r.part_region = l.part_region AND r.stem = l.stem
JOIN unused_since s ON r.part_account = s.part_account AND r.part_region = s.part_region AND r.group_id = s.group_id
WHERE r.status = 'unused' AND s.day <= current_date - INTERVAL '90' DAY
ORDER BY r.account_id, r.region, r.group_id
