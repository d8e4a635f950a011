"""Exception types. Every error names the thing that is wrong: a spec field or a file."""


class KwsError(Exception):
    """Base class of every error the toolchain raises on purpose."""


class SpecError(KwsError, ValueError):
    """A spec field has an impossible value or combination.

    Parameters
    ----------
    field : str
        Dotted path of the offending field, e.g. ``frontend.fft_size``.
    message : str
        What is wrong and, where possible, what would be right.
    source : str, optional
        The spec file the field came from.
    """

    def __init__(self, field: str, message: str, source: str | None = None):
        self.field = field
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"spec field '{field}'{where}: {message}")


class AudioFormatError(KwsError, ValueError):
    """Audio that the front end refuses: wrong rate, channels, dtype, empty, NaN.

    The front end never converts or resamples silently; it raises this instead.
    """

    def __init__(self, message: str, source: str | None = None):
        self.source = source
        prefix = f"{source}: " if source else ""
        super().__init__(prefix + message)
