"""Live telemetry: websocket consumer and server-sent events over the Channels layer groups
that `iot.ingest.service.publish_live` sends one aggregated message per device per batch to."""
