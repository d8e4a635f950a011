"""The data pipeline: sources -> validation and quarantine -> manifest and lineage ->
augmentation -> evaluation streams. See docs/data.md."""

# The kinds of source `kws data ingest` reads (kws.data.sources.load)
LOADERS = ("speech-commands", "mswc", "recordings", "words", "noise")
