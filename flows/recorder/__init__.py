"""History of runs: keyframes, seek, search, run comparison, exports, OTLP, metrics."""
