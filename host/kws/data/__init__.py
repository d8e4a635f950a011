"""The data pipeline: sources -> validation and quarantine -> manifest and lineage ->
augmentation -> evaluation streams. See docs/data.md."""
