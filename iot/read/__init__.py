"""The telemetry read side, one package (issue 13):

- `selectors`: scoping of devices, metrics, series (raw or a rollup, `resolution_auto`),
  latest values, `energy_buckets` (the one energy query: rollup counter deltas summed over
  devices, optionally by local hour), community series;
- `dashboards`: the dashboard's reads over a set of devices (overview, energy per local
  hour/day/month, activity, batteries: one grouped query for every battery);
- `params`: query-parameter parsing with the API's error envelope;
- `api`, `dashboard_api`, `urls`: the HTTP views and routes under /api/v1/.

The rollup tables' names come from `iot.rollups.tables`.
"""
