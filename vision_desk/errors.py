"""User-facing errors: one clear sentence naming the problem and the fix."""


class VisionDeskError(Exception):
    """An error whose message is meant for the user as it stands (no traceback)."""


class SourceError(VisionDeskError):
    """A source cannot be opened or read."""


class PipelineError(VisionDeskError):
    """A pipeline file or a stage parameter is invalid."""


class ModelMissingError(VisionDeskError):
    """A model file is not on disk; the message names the command that fetches it."""
