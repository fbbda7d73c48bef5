"""The data-plane simulator behind ``rtc-console simulate``: rooms, users and congestion, sent
through the real IngestService.

- :mod:`.model`: the pure, deterministic generator (scenario in, time-ordered records out);
- :mod:`.driver`: sends them with :class:`rtcconsole.client.IngestClient` (a backfill at once,
  live at real time) and tallies what the server answered;
- :mod:`.command`: the ``simulate`` subcommand of ``rtc-console``.

It uses the server only through the public Python client, like any media server would
(an import-linter contract holds it).
"""
