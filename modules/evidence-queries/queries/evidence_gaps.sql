-- Evidence gaps: the account-regions with snapshots that have none on a UTC day of a period (parameters: first day 'YYYY-MM-DD', number of days, at most 1000).
WITH digits AS (
  SELECT d FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)) AS t (d)
),
days AS (
  SELECT CAST(CAST(? AS DATE) + (a.d * 100 + b.d * 10 + c.d) * INTERVAL '1' DAY AS DATE) AS day,
         a.d * 100 + b.d * 10 + c.d AS n
  FROM digits a CROSS JOIN digits b CROSS JOIN digits c
),
taken AS (
  SELECT DISTINCT part_account, part_region,
         CAST(substr(stamp_day, 1, 4) || '-' || substr(stamp_day, 5, 2) || '-' || substr(stamp_day, 7, 2) AS DATE) AS day
  FROM (SELECT part_account, part_region, regexp_extract("$path", '/[0-9]{13}-([0-9]{8})T[0-9]{9}Z\.csv$', 1) AS stamp_day FROM snapshots) s
),
pairs AS (
  SELECT DISTINCT part_account, part_region FROM taken
)
SELECT p.part_account AS account_id, p.part_region AS region, CAST(d.day AS VARCHAR) AS day
FROM pairs p
CROSS JOIN days d
LEFT JOIN taken t ON t.part_account = p.part_account AND t.part_region = p.part_region AND t.day = d.day
WHERE d.n < ? AND t.day IS NULL
ORDER BY account_id, region, day
