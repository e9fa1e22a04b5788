"""Live frames to the dashboards: built and schema-checked in ``frames``, sent to the
channel layer by ``sender``, served to browsers by the websocket consumer in ``socket``."""
